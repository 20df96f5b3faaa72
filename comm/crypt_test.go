package comm_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
)

// tap is a TCP proxy in front of one rank that records what passes, and
// may change one byte of the stream towards that rank.
type tap struct {
	ln       net.Listener
	target   string
	mu       sync.Mutex
	toRank   bytes.Buffer // what the dialer sent
	fromRank bytes.Buffer
	flipAt   int // if > 0, the byte at this offset towards the rank is changed
	wg       sync.WaitGroup
}

func newTap(t *testing.T, target string, flipAt int) *tap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{ln: ln, target: target, flipAt: flipAt}
	tp.wg.Add(1)
	go func() {
		defer tp.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			tp.wg.Add(2)
			go tp.pipe(s, c, &tp.toRank, tp.flipAt)
			go tp.pipe(c, s, &tp.fromRank, 0)
		}
	}()
	t.Cleanup(func() { ln.Close(); tp.wg.Wait() })
	return tp
}

func (tp *tap) pipe(dst, src net.Conn, rec *bytes.Buffer, flipAt int) {
	defer tp.wg.Done()
	defer dst.(*net.TCPConn).CloseWrite()
	buf := make([]byte, 32<<10)
	off := 0
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if flipAt > 0 && off <= flipAt && flipAt < off+n {
				buf[flipAt-off] ^= 0x20
			}
			off += n
			tp.mu.Lock()
			rec.Write(buf[:n])
			tp.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (tp *tap) seen() (to, from string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.toRank.String(), tp.fromRank.String()
}

// tappedPair starts two ranks with a tap in front of rank 0 (rank 1 dials
// rank 0, so everything between them passes through it).
func tappedPair(t *testing.T, cfg comm.Config, flipAt int) ([]*comm.Comm, *tap) {
	var tp *tap
	comms, err := comm.LocalTapped(context.Background(), 2, cfg, func(addrs []string) {
		tp = newTap(t, addrs[0], flipAt)
		addrs[0] = tp.ln.Addr().String()
	})
	if err != nil {
		t.Fatal(err)
	}
	return comms, tp
}

const marker = "plain text that must not cross an encrypted link; "

func TestEncryptionOnTheWire(t *testing.T) {
	for _, mode := range []comm.EncryptMode{comm.EncryptNone, comm.EncryptAll, comm.EncryptWAN} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := comm.DefaultConfig()
			cfg.Encrypt = mode
			cfg.SingleCopy = false // the tap must see every message
			cfg.SharedMemory = false
			comms, tp := tappedPair(t, cfg, 0)
			// Every way a message is framed: small, inline, several
			// frames and records, large.
			sizes := []int{len(marker), 3000, 64<<10 + 7, 1<<20 + 5, 9 << 20}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for r, c := range comms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					for i, n := range sizes {
						msg := []byte(strings.Repeat(marker, n/len(marker)+1)[:n])
						msg[n/2] = byte(i) // not all alike
						buf := make([]byte, n)
						if r == 1 {
							if errs[r] = c.Send(ctx, msg, 0, i); errs[r] != nil {
								return
							}
							if _, errs[r] = c.Recv(ctx, buf, 0, i); errs[r] != nil {
								return
							}
						} else {
							if _, errs[r] = c.Recv(ctx, buf, 1, i); errs[r] != nil {
								return
							}
							if errs[r] = c.Send(ctx, buf, 1, i); errs[r] != nil {
								return
							}
						}
						if !bytes.Equal(buf, msg) {
							errs[r] = errors.New("message differs")
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			to, from := tp.seen()
			total := 0
			for _, n := range sizes {
				total += n
			}
			if len(to) < total || len(from) < total {
				t.Fatalf("the tap saw %d and %d bytes, want at least %d each way", len(to), len(from), total)
			}
			encrypted := mode == comm.EncryptAll // WAN: both ranks are on this host
			if got := comms[1].Encrypted(0); got != encrypted {
				t.Errorf("Encrypted = %v, want %v", got, encrypted)
			}
			for dir, s := range map[string]string{"to rank 0": to, "from rank 0": from} {
				if got := strings.Contains(s, marker); got == encrypted {
					t.Errorf("%s: plain text on the wire = %v with encryption %s", dir, got, mode)
				}
			}
			if encrypted && len(to) > total+total/50+4096 {
				t.Errorf("%d bytes on the wire for %d of messages: records cost more than 2%%", len(to), total)
			}
		})
	}
}

func TestTamperedRecord(t *testing.T) {
	cfg := comm.DefaultConfig()
	cfg.Encrypt = comm.EncryptAll
	// Past the handshake, inside the 1 MiB message.
	comms, _ := tappedPair(t, cfg, 300<<10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var recvErr, sendSideErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer comms[0].Close()
		_, recvErr = comms[0].Recv(ctx, make([]byte, 1<<20), 1, 0)
	}()
	go func() {
		defer wg.Done()
		defer comms[1].Close()
		if sendSideErr = comms[1].Send(ctx, make([]byte, 1<<20), 0, 0); sendSideErr != nil {
			return
		}
		// Rank 0 drops the connection: this rank learns it.
		_, sendSideErr = comms[1].Recv(ctx, make([]byte, 1), 0, 1)
	}()
	wg.Wait()
	var pe *comm.PeerError
	if !errors.As(recvErr, &pe) || pe.Rank != 1 || !errors.Is(recvErr, comm.ErrTampered) {
		t.Fatalf("receive of a tampered stream: %v, want a PeerError for rank 1 wrapping ErrTampered", recvErr)
	}
	if !errors.As(sendSideErr, &pe) || pe.Rank != 0 {
		t.Errorf("the sender: %v, want a PeerError for rank 0", sendSideErr)
	}
	t.Log(recvErr)
}

func TestHeartbeatOptions(t *testing.T) {
	for _, hb := range []time.Duration{8 * time.Second, 20 * time.Second, 0} {
		cfg := comm.DefaultConfig()
		cfg.Heartbeat = hb
		comms, err := comm.Local(context.Background(), 2, cfg)
		if err != nil {
			t.Fatal(err)
		}
		idle, user, err := comm.Heartbeat(comms[0], 1)
		for _, c := range comms {
			go c.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		if hb == 0 {
			if user != 0 {
				t.Errorf("Heartbeat 0: user timeout %v, want the kernel's default (0)", user)
			}
			continue
		}
		if user != hb || idle != hb/4 {
			t.Errorf("Heartbeat %v: keepalive idle %v, user timeout %v; want %v and %v", hb, idle, user, hb/4, hb)
		}
	}
}
