package comm

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/wire"
	"github.com/spmd-go/spmd/topology"
)

// streamWorld is rank 1 of a world of two whose peer, rank 0, is joined
// by n streams over real sockets (not started: the test plays the
// readers), and the world communicator.
func streamWorld(t *testing.T, n int) (*Comm, *streamGroup) {
	var job [wire.JobIDSize]byte
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	w := newWorld(cfg, 1, 2, job, make([]byte, 32))
	g := &streamGroup{}
	for range n {
		a, b := tcpPair(t)
		t.Cleanup(func() { a.Close(); b.Close() })
		p := newPeer(w, 0, a)
		p.group = g
		g.conns = append(g.conns, p)
	}
	w.peers[0] = g.conns[0]
	return newComm(w, 0, []int{0, 1}, true), g
}

// A peer with several streams has closed only when each stream has said
// goodbye: a goodbye on one may overtake data still in flight on another,
// so a receive posted meanwhile waits, and fails with ErrPeerClosed only
// after the last goodbye.
func TestByeWaitsForEveryStream(t *testing.T) {
	c, g := streamWorld(t, 3)
	r := c.Irecv(make([]byte, 8), 0, 5)
	for k, p := range g.conns {
		select {
		case <-r.done:
			t.Fatalf("the receive ended after %d of 3 goodbyes: %v", k, r.err)
		default:
		}
		p.gotBye()
	}
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the receive is still pending after every stream said goodbye")
	}
	var pe *PeerError
	if !errors.As(r.err, &pe) || pe.Rank != 0 || !errors.Is(r.err, ErrPeerClosed) {
		t.Fatalf("the receive ended with %v, want a PeerError of rank 0 (closed)", r.err)
	}
}

// Until every stream has said goodbye, a receive posted from the peer is
// not refused either (matching looks at the first connection's error).
func TestByeOnFirstStreamDoesNotRefuse(t *testing.T) {
	c, g := streamWorld(t, 2)
	g.conns[0].gotBye()
	r := c.Irecv(make([]byte, 8), 0, 5)
	select {
	case <-r.done:
		t.Fatalf("a receive posted after the first stream's goodbye ended: %v", r.err)
	default:
	}
	g.conns[1].gotBye()
	if _, err := r.Wait(t.Context()); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("after every goodbye: %v, want ErrPeerClosed", err)
	}
}

// The acceptor takes a stream's index and the dialer's stream count only
// with the dialer's proof over both, and only when they make sense.
func TestStreamHandshake(t *testing.T) {
	var job [wire.JobIDSize]byte
	secret := make([]byte, 32)
	secret[0] = 3
	for _, c := range []struct {
		name      string
		k, s      uint16 // the hello's index and the finish's count
		macS      uint16 // the count the dialer's MAC covers
		errSub    string // "" accepted
		wantK     int
		wantCount int
	}{
		{"first of one", 0, 1, 1, "", 0, 1},
		{"third of three", 2, 3, 3, "", 2, 3},
		{"no streams", 0, 0, 0, "want 1 to 8 streams", 0, 0},
		{"too many", 0, 9, 9, "want 1 to 8 streams", 0, 0},
		{"index past the count", 3, 3, 3, "stream 3 of 3", 0, 0},
		{"index past the cap", 8, 9, 9, "at most 8 streams", 0, 0},
		{"count not proved", 1, 4, 3, "does not know the job secret", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dc, ac := tcpPair(t)
			defer dc.Close()
			defer ac.Close()
			go func() {
				h := wire.Hello{JobID: job, From: 2, To: 1, Stream: c.k}
				var hb [wire.HelloSize]byte
				h.Put(hb[:])
				dc.Write(hb[:])
				var reply [wire.ReplySize]byte
				if _, err := io.ReadFull(dc, reply[:]); err != nil {
					return
				}
				an := [wire.NonceSize]byte(reply[:wire.NonceSize])
				mac := wire.MAC(secret, wire.RoleDialer, job, 2, 1, c.k, c.macS, h.Nonce, an)
				dc.Write(binary.LittleEndian.AppendUint16(mac[:], c.s))
			}()
			from, hs, err := acceptHandshake(ac, secret, job, 1, 4, 2*time.Second)
			if c.errSub == "" {
				if err != nil || from != 2 || hs.stream != c.wantK || hs.streams != c.wantCount {
					t.Fatalf("accept: rank %d stream %d of %d, %v; want rank 2 stream %d of %d", from, hs.stream, hs.streams, err, c.wantK, c.wantCount)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.errSub) {
				t.Fatalf("accept: %v, want an error containing %q", err, c.errSub)
			}
		})
	}
}

// The dialer's stream count: one within a region or host; Config.Streams
// when set; else the model's for the pair's share of the link (the link
// over the other regions) against this host's window.
func TestStreamsTo(t *testing.T) {
	var job [wire.JobIDSize]byte
	cfg := DefaultConfig()
	cfg.Streams = 0
	cfg.LinkBandwidth = 125e6 // 1 Gbit/s
	w := newWorld(cfg, 0, 4, job, make([]byte, 32))
	w.regions = []string{"a", "a", "b", "c"}
	w.hosts = []string{"h0", "h1", "h2", "h3"}
	rtt := 180 * time.Millisecond
	if got := w.streamsTo(1, rtt); got != 1 {
		t.Errorf("same region: %d streams, want 1", got)
	}
	want := topology.Streams(125e6/2, rtt, kernelWindow())
	if got := w.streamsTo(3, rtt); got != want {
		t.Errorf("auto across regions: %d streams, want %d (topology.Streams of half the link)", got, want)
	}
	if kernelWindow() > 0 && kernelWindow() < 8<<20 && want < 2 {
		t.Errorf("1 Gbit/s over 180 ms with a window of %d: %d streams, want several", kernelWindow(), want)
	}
	w.cfg.Streams = 3
	if got := w.streamsTo(3, rtt); got != 3 {
		t.Errorf("Streams 3: %d streams", got)
	}
	w.hosts[3] = "h0"
	if got := w.streamsTo(3, rtt); got != 1 {
		t.Errorf("same host: %d streams, want 1", got)
	}
}
