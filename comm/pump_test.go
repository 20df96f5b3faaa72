package comm_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
)

// slowLink is a TCP proxy in front of one rank that passes what the other
// rank sends to it in chunks of chunk bytes, one per gap, like a link
// slower than the ranks (a WAN hop); the other way is passed as it comes.
type slowLink struct {
	ln         net.Listener
	chunk      int
	gap        time.Duration
	wg         sync.WaitGroup
	mu         sync.Mutex
	conns      []net.Conn
	closedOnce sync.Once
	rcvbuf     int          // the slow side's socket receive buffer, when not 0
	passed     atomic.Int64 // bytes passed the slow way
}

func newSlowLink(t *testing.T, target string, chunk int, gap time.Duration) *slowLink {
	return newSlowLinkBuf(t, target, chunk, gap, 0)
}

// newSlowLinkBuf is newSlowLink with the slow side's socket receive
// buffer set to rcvbuf bytes (the kernel's choice when 0).
func newSlowLinkBuf(t *testing.T, target string, chunk int, gap time.Duration, rcvbuf int) *slowLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &slowLink{ln: ln, chunk: chunk, gap: gap, rcvbuf: rcvbuf}
	sl.wg.Add(1)
	go func() {
		defer sl.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if sl.rcvbuf > 0 {
				c.(*net.TCPConn).SetReadBuffer(sl.rcvbuf)
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			sl.mu.Lock()
			sl.conns = append(sl.conns, c, s)
			sl.mu.Unlock()
			sl.wg.Add(2)
			go sl.pipe(s, c, true)
			go sl.pipe(c, s, false)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		sl.mu.Lock()
		for _, c := range sl.conns {
			c.Close()
		}
		sl.mu.Unlock()
		sl.wg.Wait()
	})
	return sl
}

func (sl *slowLink) pipe(dst, src net.Conn, slow bool) {
	defer sl.wg.Done()
	defer dst.(*net.TCPConn).CloseWrite()
	buf := make([]byte, 64<<10)
	if slow {
		buf = buf[:sl.chunk]
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
			if slow {
				sl.passed.Add(int64(n))
			}
			if slow {
				time.Sleep(sl.gap)
			}
		}
		if err != nil {
			return
		}
	}
}

// A rank waiting for one message of a stream that keeps coming returns
// once that message is in, not when the stream pauses. Rank 1 sends segs
// messages to rank 0 at once, and a slow link passes them at about 4 MB/s,
// so the last arrives a quarter of a second after the first. Rank 0 waits
// for them in order, as a rank of a pipeline does before it passes each
// one on; after each wait, the last message must still be on its way
// unless the one waited for was among the last few. A waiter that kept
// reading the connection for as long as bytes came (which it did when
// its spin took the read token) returned only when every message was in.
// Nothing is timed: the check is which messages have arrived when.
func TestWaitReturnsWhileStreamContinues(t *testing.T) {
	for _, enc := range []comm.EncryptMode{comm.EncryptNone, comm.EncryptAll} {
		t.Run(enc.String(), func(t *testing.T) {
			cfg := comm.DefaultConfig()
			cfg.Encrypt = enc
			cfg.SingleCopy = false
			cfg.SharedMemory = false // the link must carry the messages
			// A waiter polls until its message comes, so that it, and
			// not the connection's reader goroutine, holds the read
			// token when the stream starts (the case that went wrong).
			cfg.SpinWait = time.Second
			comms, err := comm.LocalTapped(context.Background(), 2, cfg, func(addrs []string) {
				addrs[0] = newSlowLink(t, addrs[0], 4096, time.Millisecond).ln.Addr().String()
			})
			if err != nil {
				t.Fatal(err)
			}
			const segs, size, slack = 64, 16 << 10, 4
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for r, c := range comms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					if r == 1 {
						reqs := make([]*comm.Request, segs)
						for s := range reqs {
							reqs[s] = c.Isend(pattern(size, s), 0, s)
						}
						errs[r] = comm.WaitAll(ctx, reqs...)
						return
					}
					bufs := make([][]byte, segs)
					reqs := make([]*comm.Request, segs)
					for s := range reqs {
						bufs[s] = make([]byte, size)
						reqs[s] = c.Irecv(bufs[s], 1, s)
					}
					early := 0
					for s, rq := range reqs {
						if _, err := rq.Wait(ctx); err != nil {
							errs[r] = err
							return
						}
						if done, _, _ := reqs[segs-1].Test(); done && s < segs-slack {
							early++
							if errs[r] == nil {
								errs[r] = fmt.Errorf("the wait for message %d of %d returned only when the last had arrived", s, segs)
							}
						}
						if string(bufs[s]) != string(pattern(size, s)) {
							errs[r] = errors.Join(errs[r], fmt.Errorf("message %d differs", s))
							return
						}
					}
					if early > 0 {
						errs[r] = fmt.Errorf("%w (%d waits out of %d did so)", errs[r], early, segs)
					}
				}()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// SetSendAhead makes a send complete only when all but about the given
// bytes of it have gone to the network. Rank 1 sends one 4 MiB message to
// rank 0 through a slow link (32 KiB per ms) whose socket buffers are
// small; when the send completes, the link must have passed all but a
// few hundred KiB (the limit, a segment the kernel builds past it and the
// link's own buffers). With the kernel's default the same send completes
// as soon as the sender's socket buffer holds the rest: checked too, so
// that the test can tell the two apart. Nothing is timed.
func TestSendAhead(t *testing.T) {
	const size, ahead, slack = 4 << 20, 16 << 10, 384 << 10
	for _, enc := range []comm.EncryptMode{comm.EncryptNone, comm.EncryptAll} {
		for _, on := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/%v", enc, on), func(t *testing.T) {
				cfg := comm.DefaultConfig()
				cfg.Encrypt = enc
				cfg.SingleCopy = false
				cfg.SharedMemory = false // the link must carry the message
				var sl *slowLink
				comms, err := comm.LocalTapped(context.Background(), 2, cfg, func(addrs []string) {
					sl = newSlowLinkBuf(t, addrs[0], 32<<10, time.Millisecond, 32<<10)
					addrs[0] = sl.ln.Addr().String()
				})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				errs := make([]error, 2)
				var passed int64
				var wg sync.WaitGroup
				for r, c := range comms {
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer c.Close()
						if r == 1 {
							if on {
								if err := c.SetSendAhead(0, ahead); err != nil {
									errs[r] = err
									return
								}
							}
							base := sl.passed.Load()
							errs[r] = c.Send(ctx, pattern(size, 7), 0, 7)
							passed = sl.passed.Load() - base
							if err := c.SetSendAhead(0, 0); err != nil {
								errs[r] = errors.Join(errs[r], err)
							}
							return
						}
						buf := make([]byte, size)
						if _, err := c.Recv(ctx, buf, 1, 7); err != nil {
							errs[r] = err
							return
						}
						if string(buf) != string(pattern(size, 7)) {
							errs[r] = errors.New("the message differs")
						}
					}()
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				t.Logf("the link had passed %d of %d bytes when the send completed", passed, size)
				if on && passed < size-slack {
					t.Fatalf("with SetSendAhead(%d) the send completed when the link had passed %d of %d bytes; want at least %d", ahead, passed, size, size-slack)
				}
				if !on && passed >= size-slack {
					t.Fatalf("without SetSendAhead the send completed only when the link had passed %d of %d bytes: the test cannot tell the two apart", passed, size)
				}
			})
		}
	}
}
