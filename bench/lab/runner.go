package lab

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Device is where the emulator takes packets from and gives them back: a
// TUN device in the lab (each Read returns one IP packet, each Write sends
// one), or a fake in tests.
type Device interface {
	Read(p []byte) (int, error)
	Write(p []byte) (int, error)
}

// RunStats counts what Run did.
type RunStats struct {
	In, Out      int64 // packets read and written back
	NotRegional  int64 // not IPv4 between two different known regions: dropped
	DroppedQueue int64 // lost or dropped for a full queue by the emulator
}

// Run feeds packets read from dev through e and writes each back when it
// is due, until ctx ends or dev fails. regions is the number of regions of
// the plan, for telling a packet's regions by its addresses (RegionOf).
// Packets within one region never reach the emulator in the lab (the
// region's bridge carries them); here they are dropped and counted. Run
// returns when ctx ends, leaving its reader blocked in dev.Read: close dev
// to end it.
func (e *Emulator) Run(ctx context.Context, dev Device, regions int) (RunStats, error) {
	var (
		mu    sync.Mutex // guards stats
		stats RunStats
		kick  = make(chan struct{}, 1)
		rerr  = make(chan error, 1)
	)
	go func() {
		buf := make([]byte, 65536+e.HeaderLen)
		for {
			n, err := dev.Read(buf)
			if err != nil {
				rerr <- err
				return
			}
			pkt := buf[:n]
			src, dst, ok := ipv4Regions(pkt[min(e.HeaderLen, len(pkt)):], regions)
			var notRegional, dropped bool
			switch {
			case !ok || src == dst:
				notRegional = true
			case !e.Submit(time.Now(), src, dst, append([]byte(nil), pkt...)):
				dropped = true
			}
			mu.Lock()
			stats.In++
			if notRegional {
				stats.NotRegional++
			}
			if dropped {
				stats.DroppedQueue++
			}
			mu.Unlock()
			select {
			case kick <- struct{}{}:
			default:
			}
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var out [][]byte
	for {
		out = e.Due(time.Now(), out[:0])
		next, waiting := e.Next()
		for _, p := range out {
			if _, err := dev.Write(p); err != nil {
				return stats, err
			}
			mu.Lock()
			stats.Out++
			mu.Unlock()
		}
		if len(out) > 0 {
			continue // more may have come due meanwhile
		}
		wait := time.Hour
		if waiting {
			wait = next.Sub(time.Now())
		}
		// Go's timers wake up to a millisecond late (the poller waits in
		// whole milliseconds), which would add up to 2 ms to a round
		// trip. The last stretch before a packet is due is slept with
		// nanosleep instead, which wakes within about 100 µs. A packet
		// that arrives meanwhile cannot be due sooner unless its link's
		// delay is under fineSleep.
		if wait <= fineSleep {
			if wait > 0 {
				ts := syscall.NsecToTimespec(int64(wait))
				syscall.Nanosleep(&ts, nil)
			}
			continue
		}
		timer.Reset(wait - fineSleep)
		select {
		case <-ctx.Done():
			mu.Lock()
			defer mu.Unlock()
			return stats, nil
		case err := <-rerr:
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return stats, err
		case <-kick:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// fineSleep is how long before a packet is due Run stops using Go's timer.
const fineSleep = 2 * time.Millisecond

// ipv4Regions returns the regions of an IPv4 packet's source and
// destination addresses.
func ipv4Regions(pkt []byte, regions int) (src, dst int, ok bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return 0, 0, false
	}
	s := netip.AddrFrom4([4]byte(pkt[12:16]))
	d := netip.AddrFrom4([4]byte(pkt[16:20]))
	src, dst = RegionOf(s, regions), RegionOf(d, regions)
	return src, dst, src >= 0 && dst >= 0
}
