package comm_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
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
}

func newSlowLink(t *testing.T, target string, chunk int, gap time.Duration) *slowLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &slowLink{ln: ln, chunk: chunk, gap: gap}
	sl.wg.Add(1)
	go func() {
		defer sl.wg.Done()
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
