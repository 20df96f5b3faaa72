package comm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
)

// Messages of every framing, compressible or not, through a tap: all
// arrive intact; compressible ones cross in a fraction of their size and
// random ones in about theirs (compression gives up on them).
func TestCompression(t *testing.T) {
	compressible := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i/64) ^ byte(i%7) // runs and a short period
		}
		return b
	}
	// Bytes 0..7 in random order: no matches, but 3 bits of 8 carry
	// information (the fastest level sent these raw until told to
	// entropy-code literals).
	skewed := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		for i := range b {
			b[i] &= 7
		}
		return b
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	type msg struct {
		name string
		data []byte
	}
	// Compressible ones, then random ones, then large compressible ones
	// again: those are judged by a sample, whatever came before.
	var msgs []msg
	sizes := []int{100, 4 << 10, 64<<10 + 3, 1 << 20, 6<<20 + 1}
	for _, n := range sizes {
		msgs = append(msgs, msg{fmt.Sprintf("compressible %d", n), compressible(n)})
	}
	for _, n := range sizes {
		msgs = append(msgs, msg{fmt.Sprintf("random %d", n), random(n)})
	}
	msgs = append(msgs, msg{"compressible 1 MiB after random", compressible(1 << 20)},
		msg{"compressible skewed 64 KiB", skewed(64 << 10)}, msg{"compressible skewed 2 MiB", skewed(2 << 20)})
	for _, mode := range []comm.CompressMode{comm.CompressNone, comm.CompressAll} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := comm.DefaultConfig()
			cfg.Compress = mode
			cfg.SingleCopy = false // the tap counts what crosses the socket
			cfg.SharedMemory = false
			comms, tp := tappedPair(t, cfg, 0)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var sent []int // bytes the tap saw after each message
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { // rank 1 sends each message and waits for its echo of the length
				defer wg.Done()
				defer comms[1].Close()
				for i, m := range msgs {
					if errs[1] = comms[1].Send(ctx, m.data, 0, i); errs[1] != nil {
						return
					}
					if _, errs[1] = comms[1].Recv(ctx, make([]byte, 1), 0, i); errs[1] != nil {
						return
					}
					to, _ := tp.seen()
					sent = append(sent, len(to))
				}
			}()
			go func() {
				defer wg.Done()
				defer comms[0].Close()
				for i, m := range msgs {
					buf := make([]byte, len(m.data)+1)
					st, err := comms[0].Recv(ctx, buf, 1, i)
					if err != nil {
						errs[0] = err
						return
					}
					if st.Len != len(m.data) || !bytes.Equal(buf[:st.Len], m.data) {
						errs[0] = fmt.Errorf("%s: got %d bytes, not what was sent", m.name, st.Len)
						return
					}
					if errs[0] = comms[0].Send(ctx, []byte{1}, 1, i); errs[0] != nil {
						return
					}
				}
			}()
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			prev := 0
			for i, m := range msgs {
				wire := sent[i] - prev
				prev = sent[i]
				ratio := float64(wire) / float64(len(m.data))
				t.Logf("%s: %d bytes on the wire (%.3f)", m.name, wire, ratio)
				big := len(m.data) >= 4<<10
				switch {
				case mode == comm.CompressAll && big && m.name[0] == 'c' && strings.Contains(m.name, "skewed") && ratio > 0.5:
					t.Errorf("%s: %.3f of its size on the wire, want under a half", m.name, ratio)
				case mode == comm.CompressAll && big && m.name[0] == 'c' && !strings.Contains(m.name, "skewed") && ratio > 0.25:
					t.Errorf("%s: %.3f of its size on the wire, want under a quarter", m.name, ratio)
				case (mode == comm.CompressNone || m.name[0] == 'r' || !big) && ratio < 1:
					t.Errorf("%s: %.3f of its size on the wire: compressed, but should not be", m.name, ratio)
				}
			}
		})
	}
}
