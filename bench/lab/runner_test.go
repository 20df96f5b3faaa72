package lab

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// fakeDevice is a TUN device in memory: Read returns queued packets,
// Write records what the emulator sent back and when.
type fakeDevice struct {
	in   chan []byte
	mu   sync.Mutex
	outs []sent
	got  chan struct{}
}

type sent struct {
	pkt []byte
	at  time.Time
}

func (f *fakeDevice) Read(p []byte) (int, error) {
	pkt, ok := <-f.in
	if !ok {
		return 0, io.EOF
	}
	return copy(p, pkt), nil
}

func (f *fakeDevice) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.outs = append(f.outs, sent{append([]byte(nil), p...), time.Now()})
	f.mu.Unlock()
	f.got <- struct{}{}
	return len(p), nil
}

func ipv4(src, dst [4]byte, id byte) []byte {
	p := make([]byte, 40)
	p[0] = 0x45
	p[4] = id
	copy(p[12:], src[:])
	copy(p[16:], dst[:])
	return p
}

// Packets between regions come back after their pair's delay, not
// before; packets inside a region or outside the lab are not passed.
func TestRunDelays(t *testing.T) {
	plan := Plan{Links: map[[2]int]LinkSpec{{0, 1}: {Delay: 30 * time.Millisecond}, {0, 2}: {Delay: 60 * time.Millisecond}, {1, 2}: {Delay: 10 * time.Millisecond}}}
	e := NewEmulator(plan, 1)
	dev := &fakeDevice{in: make(chan []byte, 16), got: make(chan struct{}, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan RunStats, 1)
	go func() {
		st, err := e.Run(ctx, dev, 3)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	a, b, c := HostAddr(0, 0).As4(), HostAddr(1, 0).As4(), HostAddr(2, 1).As4()
	start := time.Now()
	dev.in <- ipv4(a, c, 1)                    // 60 ms
	dev.in <- ipv4(a, b, 2)                    // 30 ms
	dev.in <- ipv4(c, b, 3)                    // 10 ms
	dev.in <- ipv4(a, HostAddr(0, 1).As4(), 4) // same region: not emulated
	dev.in <- ipv4([4]byte{10, 0, 0, 1}, a, 5) // outside the lab
	for i := 0; i < 3; i++ {
		select {
		case <-dev.got:
		case <-time.After(5 * time.Second):
			t.Fatal("a packet never came back")
		}
	}
	cancel()
	st := <-done
	want := map[byte]time.Duration{1: 60 * time.Millisecond, 2: 30 * time.Millisecond, 3: 10 * time.Millisecond}
	order := ""
	for _, s := range dev.outs {
		id := s.pkt[4]
		order += string('0' + id)
		if late := s.at.Sub(start); late < want[id] {
			t.Errorf("packet %d back after %v, before its delay %v", id, late, want[id])
		}
	}
	if order != "321" {
		t.Errorf("came back in order %s, want 321 (by delay)", order)
	}
	if st.In != 5 || st.Out != 3 || st.NotRegional != 2 {
		t.Errorf("stats %+v", st)
	}
}

// With offloads the device puts a virtio_net_hdr before each packet: Run
// reads the addresses after it and gives the packet back whole.
func TestRunWithHeader(t *testing.T) {
	plan := Plan{Links: map[[2]int]LinkSpec{{0, 1}: {Delay: 5 * time.Millisecond}}}
	e := NewEmulator(plan, 1)
	e.HeaderLen = VnetHdrLen
	dev := &fakeDevice{in: make(chan []byte, 4), got: make(chan struct{}, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx, dev, 2)
	hdr := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	pkt := append(append([]byte(nil), hdr...), ipv4(HostAddr(0, 0).As4(), HostAddr(1, 0).As4(), 9)...)
	dev.in <- pkt
	dev.in <- ipv4(HostAddr(0, 0).As4(), HostAddr(1, 0).As4(), 8)[:VnetHdrLen+5] // too short to classify
	select {
	case <-dev.got:
	case <-time.After(5 * time.Second):
		t.Fatal("the packet never came back")
	}
	dev.mu.Lock()
	defer dev.mu.Unlock()
	if len(dev.outs) != 1 || string(dev.outs[0].pkt) != string(pkt) {
		t.Fatalf("got back %v, want the packet with its header unchanged", dev.outs)
	}
}
