package comm

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/wire"
)

// lockedWriter collects log output from many goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// serverConns counts the established sockets (with a descriptor) whose
// local port is port: the connections a rank listening there holds.
func serverConns(t *testing.T, port int) int {
	n := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[0] == "sl" {
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil || int(p) != port || fs[3] == "0A" || fs[9] == "0" { // 0A: listening; inode 0: no descriptor
				continue
			}
			n++
		}
		f.Close()
	}
	return n
}

// A scanner floods a rank's listener while its job's mesh is being built
// (one rank is held back, so the listener stays open): 2000 connections
// that send garbage, stop half way through a hello, send a well-formed
// hello for the right job and rank and then a wrong proof, or replay a
// genuine hello and proof recorded from an earlier handshake (made with
// the job's secret, but over another acceptor nonce), all left open.
// None is accepted; the rank holds at most maxPending of them at a time;
// it logs a bounded number of lines; and when the last rank comes, the
// job's own connections get through and the job works.
func TestAcceptUnderScan(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("needs /proc/net/tcp to count the rank's connections")
	}
	const n, scans = 3, 2000
	var logs lockedWriter
	cfg := DefaultConfig()
	cfg.ConnectTimeout = time.Minute
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	secret := make([]byte, 32)
	rand.Read(secret)
	var id [wire.JobIDSize]byte
	rand.Read(id[:])
	release := make(chan struct{})
	target := make(chan string, 1)
	type result struct {
		comms []*Comm
		err   error
	}
	done := make(chan result, 1)
	go func() {
		comms, err := localJob(context.Background(), n, cfg, id, func(int) []byte { return secret }, func(r int, addrs []string) {
			switch r {
			case 0:
				target <- addrs[0]
			case n - 1:
				<-release
			}
		})
		done <- result{comms, err}
	}()
	addr := <-target
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)

	hello := make([]byte, wire.HelloSize)
	h := wire.Hello{JobID: id, From: 1, To: 0}
	h.Put(hello)
	var open []net.Conn
	most := 0
	// Memory and goroutines of this process (the rank's and the scanner's
	// side of the connections): bounded while the scan runs.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, g0 := ms.HeapInuse, runtime.NumGoroutine()
	heapMost, gMost := heap0, g0
	// One goroutine per pending handshake (at most maxPending) and a few
	// of the mesh's own.
	goroutineSlack := maxPending(n, 1) + 16
	for i := 0; i < scans; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		open = append(open, c)
		switch i % 4 {
		case 0: // garbage
			junk := make([]byte, 64)
			rand.Read(junk)
			c.Write(junk)
		case 1: // half a hello, then silence
			c.Write(hello[:wire.HelloSize/2])
		case 2: // a hello for this job and rank, then a wrong proof
			c.Write(hello)
			proof := make([]byte, wire.FinishSize)
			rand.Read(proof)
			c.Write(proof)
		case 3: // a replay of a real dialer's hello and proof, recorded from an earlier exchange
			c.Write(hello)
			var oldNonce [wire.NonceSize]byte
			rand.Read(oldNonce[:])
			proof := wire.MAC(secret, wire.RoleDialer, id, 1, 0, 0, 1, h.Nonce, oldNonce)
			c.Write(append(proof[:], 1, 0))
		}
		if i%100 == 99 {
			time.Sleep(5 * time.Millisecond) // let the rank catch up
			if held := serverConns(t, port); held > most {
				most = held
			}
			runtime.ReadMemStats(&ms)
			heapMost, gMost = max(heapMost, ms.HeapInuse), max(gMost, settledGoroutines(g0+goroutineSlack))
		}
	}
	// The stalled quarter of the scan alone is 500 connections: a cap at
	// or above that would not be tested here. Slack beyond the job's own
	// n: a socket closed to make room keeps its descriptor until the
	// handshake goroutine reading it runs again, which under load (CI's
	// passes run two packages at once) took a few more (71 and 93 against
	// caps of 67 and 88 plus 3, 2026-12-06).
	if limit := maxPending(n, 1) + n + 8; most > limit || limit >= scans/4 {
		t.Errorf("the rank held %d connections at once during the scan, want at most %d (and that well below %d)", most, limit, scans/4)
	}
	// The scan is still open; now the last rank comes.
	close(release)
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the mesh did not complete after the scan")
	}
	for _, c := range open {
		c.Close()
	}
	if res.err != nil {
		t.Fatalf("the job did not start after the scan: %v", res.err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for r, c := range res.comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			ctx := context.Background()
			buf := make([]byte, 8)
			_, errs[r] = c.Sendrecv(ctx, []byte(fmt.Sprint(1000+r)), (r+1)%n, 1, buf[:4], (r+n-1)%n, 1)
			if errs[r] == nil && string(buf[:4]) != fmt.Sprint(1000+(r+n-1)%n) {
				errs[r] = fmt.Errorf("rank %d got %q", r, buf[:4])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	out := logs.String()
	if lines := strings.Count(out, "rejected mesh connection "); lines > maxRejectLogs {
		t.Errorf("%d rejections logged one by one, want at most %d", lines, maxRejectLogs)
	}
	if !strings.Contains(out, "rejected mesh connections") || !strings.Contains(out, "count=") {
		t.Errorf("no summary of the rejections in the log:\n%.2000s", out)
	}
	if strings.Contains(out, string(secret)) {
		t.Error("the secret is in the log")
	}
	t.Logf("largest number of scan connections held at once: %d (cap %d)", most, maxPending(n, 1))
	t.Logf("during the scan: heap in use %.1f -> at most %.1f MiB, goroutines %d -> at most %d", float64(heap0)/(1<<20), float64(heapMost)/(1<<20), g0, gMost)
	// Goroutines as above; a few KiB per open connection on both sides.
	if gMost > g0+goroutineSlack {
		t.Errorf("goroutines grew from %d to %d during the scan, want at most %d more", g0, gMost, goroutineSlack)
	}
	if heapMost > heap0+32<<20 {
		t.Errorf("heap in use grew from %d to %d bytes during the scan, want at most 32 MiB more", heap0, heapMost)
	}
}

// settledGoroutines returns the number of goroutines, given up to half a
// second to fall to limit: the handshake of a connection closed to make
// room ends when its goroutine next runs, which under load (CI's race
// and encryption pass, 2026-12-07: 99 against 8 + 83) can come after
// the scan's next connections. A goroutine per connection that never
// ends would not fall, and 2000 connections would show it.
func settledGoroutines(limit int) int {
	g := runtime.NumGoroutine()
	for deadline := time.Now().Add(500 * time.Millisecond); g > limit && time.Now().Before(deadline); g = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	return g
}

// loopbackListener listens on 127.0.0.1 until the test ends.
func loopbackListener(t *testing.T) *net.TCPListener {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// A dialer whose connection the acceptor sheds before answering (as a
// flooded rank does) dials again; one whose proof is refused does not.
func TestDialRetriesAfterHangUp(t *testing.T) {
	secret := make([]byte, 32)
	rand.Read(secret)
	var id [wire.JobIDSize]byte
	ln := loopbackListener(t)
	accepted := make(chan int, 1)
	go func() {
		for i := 0; ; i++ {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			if i < 2 { // shed the first two
				c.Close()
				continue
			}
			_, _, err = acceptHandshake(c, secret, id, 0, 2, 5*time.Second)
			if err == nil {
				accepted <- i
			}
			c.Close()
			return
		}
	}()
	w := newWorld(DefaultConfig(), 1, 2, id, secret)
	w.addrs = []string{ln.Addr().String(), ""}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := w.dial(ctx, 0, 0, oneStream)
	if err != nil {
		t.Fatalf("dial after two hang-ups: %v", err)
	}
	c.Close()
	if i := <-accepted; i != 2 {
		t.Fatalf("accepted connection %d, want the third", i)
	}

	// An acceptor with another secret answers, and the dialer, seeing its
	// proof fail, gives up at once: one connection, no retries.
	ln2 := loopbackListener(t)
	conns := make(chan int, 1)
	go func() {
		n := 0
		defer func() { conns <- n }()
		other := make([]byte, 32)
		for {
			ln2.SetDeadline(time.Now().Add(500 * time.Millisecond))
			c, err := ln2.AcceptTCP()
			if err != nil {
				return
			}
			n++
			acceptHandshake(c, other, id, 0, 2, 5*time.Second)
			c.Close()
		}
	}()
	w.addrs[0] = ln2.Addr().String()
	if _, _, err := w.dial(ctx, 0, 0, oneStream); !errors.Is(err, ErrHandshake) {
		t.Fatalf("dial to an acceptor with another secret: %v, want ErrHandshake", err)
	}
	if n := <-conns; n != 1 {
		t.Fatalf("the dialer connected %d times to an acceptor that failed its proof, want 1", n)
	}
}
