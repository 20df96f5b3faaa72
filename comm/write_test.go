package comm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

func pattern(sizes ...int) [][]byte {
	var out [][]byte
	v := byte(0)
	for _, n := range sizes {
		b := make([]byte, n)
		for i := range b {
			b[i] = v
			v = v*7 + 3
		}
		out = append(out, b)
	}
	return out
}

// writeAll puts every byte of every buffer on the socket, in order, across
// partial writes, empty buffers and a full socket buffer (the reader
// starts late and reads in small pieces), and more buffers than one
// writev takes.
func TestWriteAll(t *testing.T) {
	many := make([]int, 3000)
	for i := range many {
		many[i] = i % 5
	}
	for _, sizes := range [][]int{{16, 100}, {16, 0, 5, 0, 7}, {0}, {16, 9 << 20, 3}, many} {
		a, b := tcpPair(t)
		defer a.Close()
		defer b.Close()
		raw, err := a.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		p := &peer{raw: raw, w: &world{}}
		bufs := pattern(sizes...)
		want := bytes.Join(bufs, nil)
		got := make(chan []byte, 1)
		go func() {
			time.Sleep(20 * time.Millisecond) // let the writer fill the socket
			var out bytes.Buffer
			chunk := make([]byte, 4093)
			for out.Len() < len(want) {
				n, err := b.Read(chunk)
				out.Write(chunk[:n])
				if err != nil {
					break
				}
			}
			got <- out.Bytes()
		}()
		if err := p.writeAll(append([][]byte(nil), bufs...)); err != nil {
			t.Fatalf("sizes %v: %v", sizes[:min(len(sizes), 5)], err)
		}
		if g := <-got; !bytes.Equal(g, want) {
			t.Fatalf("sizes %v: received %d bytes, differing from the %d written", sizes[:min(len(sizes), 5)], len(g), len(want))
		}
	}
}

// A write deadline in the past ends a write that waits for room, with
// os.ErrDeadlineExceeded (how a send is cancelled), and a closed peer
// gives a writev error, not a hang.
func TestWriteAllErrors(t *testing.T) {
	a, b := tcpPair(t)
	defer a.Close()
	raw, _ := a.SyscallConn()
	p := &peer{raw: raw, w: &world{}}
	go func() {
		time.Sleep(50 * time.Millisecond)
		a.SetWriteDeadline(time.Unix(1, 0))
	}()
	err := p.writeAll(pattern(64 << 20)) // more than loopback's buffers hold
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("cancelled write: got %v, want os.ErrDeadlineExceeded", err)
	}

	a.SetWriteDeadline(time.Time{})
	go io.Copy(io.Discard, io.LimitReader(b, 1<<20))
	time.Sleep(20 * time.Millisecond)
	b.SetLinger(0)
	b.Close()
	time.Sleep(20 * time.Millisecond)
	err = nil
	for i := 0; i < 100 && err == nil; i++ {
		err = p.writeAll(pattern(1 << 20))
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "writev" {
		t.Fatalf("write to a reset connection: got %v, want a writev error", err)
	}
}

func TestConsume(t *testing.T) {
	bufs := pattern(3, 0, 4)
	want := bytes.Join(bufs, nil)
	for n := 0; n <= len(want); n++ {
		rest := consume(append([][]byte(nil), pattern(3, 0, 4)...), n)
		if got := bytes.Join(rest, nil); !bytes.Equal(got, want[n:]) {
			t.Fatalf("consume %d: left %v, want %v", n, got, want[n:])
		}
	}
}
