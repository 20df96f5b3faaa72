package comm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/wire"
)

func tcpPair(t testing.TB) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		ch <- c
	}()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	return d.(*net.TCPConn), a.(*net.TCPConn)
}

func TestHandshake(t *testing.T) {
	var job, other [wire.JobIDSize]byte
	job[0], other[0] = 1, 2
	good := bytes.Repeat([]byte{7}, 32)
	bad := bytes.Repeat([]byte{8}, 32)
	cases := []struct {
		name         string
		dSecret      []byte
		dJob         [wire.JobIDSize]byte
		from, to     int
		wantOK       bool
		acceptErrSub string
	}{
		{"ok", good, job, 2, 1, true, ""},
		{"wrong secret", bad, job, 2, 1, false, "job secret"},
		{"other job", good, other, 2, 1, false, "another job"},
		{"wrong target", good, job, 2, 0, false, "this is rank 1"},
		{"rank out of range", good, job, 9, 1, false, "of 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dc, ac := tcpPair(t)
			defer dc.Close()
			defer ac.Close()
			type res struct {
				from int
				err  error
			}
			ch := make(chan res, 1)
			go func() {
				from, _, err := acceptHandshake(ac, good, job, 1, 4, 2*time.Second)
				if err != nil {
					ac.Close() // as the accept loop does
				}
				ch <- res{from, err}
			}()
			_, derr := dialHandshake(dc, c.dSecret, c.dJob, c.from, c.to, 0, oneStream, 2*time.Second)
			if derr != nil {
				dc.Close() // as dial does
			}
			r := <-ch
			if c.wantOK {
				if derr != nil || r.err != nil || r.from != c.from {
					t.Fatalf("dial %v, accept %v from %d", derr, r.err, r.from)
				}
				// The verdict is the first byte the dialer's reader sees.
				var b [1]byte
				if _, err := dc.Read(b[:]); err != nil || b[0] != handshakeOK {
					t.Fatalf("first byte after the handshake %v (%v), want %d", b[0], err, handshakeOK)
				}
				return
			}
			if derr == nil || r.err == nil {
				t.Fatalf("handshake succeeded: dial %v, accept %v", derr, r.err)
			}
			if !errors.Is(r.err, ErrHandshake) || !strings.Contains(r.err.Error(), c.acceptErrSub) {
				t.Fatalf("accept error %q, want it to mention %q", r.err, c.acceptErrSub)
			}
		})
	}
}

// A rank whose secret differs cannot join: the job fails to form, with an
// error naming the handshake, and the log never shows the secret.
func TestWrongSecretRefused(t *testing.T) {
	var logBuf bytes.Buffer
	cfg := DefaultConfig()
	cfg.ConnectTimeout = 3 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	good := []byte("0123456789abcdef0123456789abcdef")
	bad := []byte("fedcba9876543210fedcba9876543210")
	var id [wire.JobIDSize]byte
	_, err := localJob(context.Background(), 3, cfg, id, func(r int) []byte {
		if r == 2 {
			return bad
		}
		return good
	}, nil)
	if err == nil || !errors.Is(err, ErrHandshake) {
		t.Fatalf("want a handshake error, got %v", err)
	}
	logs := logBuf.String()
	if !strings.Contains(logs, "rejected mesh connection") {
		t.Fatalf("rejection not logged: %s", logs)
	}
	if strings.Contains(logs, string(good)) || strings.Contains(logs, string(bad)) || strings.Contains(err.Error(), string(good)) {
		t.Fatal("the secret appears in a log or error")
	}
}

// FuzzAcceptHandshake plays an attacker that sends arbitrary bytes: the
// acceptor must never panic and never accept without the secret.
func FuzzAcceptHandshake(f *testing.F) {
	var job [wire.JobIDSize]byte
	h := wire.Hello{JobID: job, From: 2, To: 1}
	hello := make([]byte, wire.HelloSize)
	h.Put(hello)
	f.Add(append(hello, make([]byte, wire.FinishSize)...))
	f.Add(hello[:10])
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	secret := bytes.Repeat([]byte{3}, 32)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		// Say data, drain what the acceptor says, and hang up once data
		// is said: the acceptor sees the end of the stream at once, so
		// an execution takes microseconds, not a deadline.
		go io.Copy(io.Discard, b)
		go func() {
			b.Write(data)
			b.Close()
		}()
		_, _, err := acceptHandshake(a, secret, job, 1, 4, 200*time.Millisecond)
		a.Close()
		if err == nil {
			t.Fatal("accepted a connection without knowing the secret")
		}
	})
}

// A dialer that goes on after its proof learns of a refusal from the
// verdict byte, before any frame: the first receive fails with the
// handshake error, naming the peer.
func TestVerdictRefused(t *testing.T) {
	var job [wire.JobIDSize]byte
	secret := bytes.Repeat([]byte{7}, 32)
	dc, ac := tcpPair(t)
	defer ac.Close()
	go func() {
		// An acceptor that proves itself, then refuses.
		var hb [wire.HelloSize]byte
		if _, err := ac.Read(hb[:]); err != nil {
			return
		}
		h, _ := wire.DecodeHello(hb[:])
		var an [wire.NonceSize]byte
		mac := wire.MAC(secret, wire.RoleAcceptor, job, h.From, h.To, h.Stream, 0, h.Nonce, an)
		ac.Write(append(an[:], mac[:]...))
		var proof [wire.FinishSize]byte
		ac.Read(proof[:])
		ac.Write([]byte{0})
		ac.Write(bytes.Repeat([]byte{0xff}, 64)) // never decoded
	}()
	if _, err := dialHandshake(dc, secret, job, 1, 0, 0, oneStream, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	w := newWorld(cfg, 1, 2, job, secret)
	w.peers[0] = newPeer(w, 0, dc)
	w.peers[0].awaitVerdict = true
	w.peers[0].start()
	c := newComm(w, 0, []int{0, 1}, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Recv(ctx, make([]byte, 8), 0, 0)
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Rank != 0 || !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "rejected our proof") {
		t.Fatalf("receive after a refused proof: %v", err)
	}
	w.close()
}
