package comm_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// SetMaxPacing puts the cap on the connection to that rank only, and 0
// lifts it (the kernel's "unlimited", all ones in 32 bits).
func TestSetMaxPacing(t *testing.T) {
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() != 0 {
			return nil
		}
		if err := c.SetMaxPacing(1, 3e6); err != nil {
			return err
		}
		if err := c.SetMaxPacing(0, 1); err != nil { // self: nothing to do
			return err
		}
		for r, want := range map[int]int{1: 3000000, 2: -1} {
			if got, err := comm.MaxPacingOf(c, r); err != nil || got != want {
				return fmt.Errorf("rank %d: cap %d (%v), want %d", r, got, err, want)
			}
		}
		if err := c.SetMaxPacing(1, 0); err != nil {
			return err
		}
		if got, _ := comm.MaxPacingOf(c, 1); got != -1 {
			return fmt.Errorf("after lifting: %d", got)
		}
		return nil
	})
}

// RestartCongestion starts the connection's congestion control afresh:
// after a bulk transfer BBR has a bandwidth estimate; restarted, it has
// none, runs BBR still, and the connection carries messages as before.
// Needs BBR (tcp_bbr, which root can load); CI runs as root.
func TestRestartCongestion(t *testing.T) {
	if err := bbrUsable(); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("needs BBR on a TCP socket, which this user may not set (%v); root may load tcp_bbr, and CI runs as root", err)
		}
		t.Fatalf("BBR on a TCP socket, as root: %v", err)
	}
	cfg := comm.DefaultConfig()
	cfg.SharedMemory = false // the connection must carry the messages
	cfg.SingleCopy = false
	commtest.RunConfig(t, 2, cfg, func(ctx context.Context, c *comm.Comm) error {
		const n = 8 << 20
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		if c.Rank() == 1 {
			buf := make([]byte, n)
			for i := range 2 {
				if _, err := c.Recv(ctx, buf, 0, i); err != nil {
					return err
				}
				if !bytes.Equal(buf, msg) {
					return fmt.Errorf("message %d differs", i)
				}
			}
			return nil
		}
		if err := comm.SetCongestion(c, 1, "bbr"); err != nil {
			return fmt.Errorf("setting BBR on the connection: %w", err)
		}
		if err := c.Send(ctx, msg, 1, 0); err != nil {
			return err
		}
		before, err := comm.BBRBandwidth(c, 1)
		if err != nil {
			return err
		}
		if before == 0 {
			return fmt.Errorf("no bandwidth estimate after sending %d bytes", n)
		}
		if err := c.RestartCongestion(1); err != nil {
			return err
		}
		if err := c.RestartCongestion(0); err != nil { // self: nothing to do
			return err
		}
		name, err := comm.Congestion(c, 1)
		if err != nil {
			return err
		}
		after, err := comm.BBRBandwidth(c, 1)
		if err != nil {
			return err
		}
		if name != "bbr" || after != 0 {
			return fmt.Errorf("after the restart: %s with an estimate of %d B/s (before: %d); want bbr with none", name, after, before)
		}
		return c.Send(ctx, msg, 1, 1)
	})
}

// bbrUsable reports whether this process can set BBR on a TCP socket.
func bbrUsable() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, "bbr")
	}); err != nil {
		return err
	}
	return serr
}

// A run of Isends to one peer returns at once even when the socket is
// full: the caller writes a message itself only while the socket has
// room, and leaves the rest to the connection's writer. The connection
// is paced at 2 MB/s, so 4 MiB of 32 KiB random messages cannot have left when
// the last Isend returns; had the caller written them (as it did before
// hasRoom), every message but the last would be in the socket by then.
func TestIsendRunDoesNotWait(t *testing.T) {
	cfg := comm.DefaultConfig()
	cfg.SharedMemory = false // the connection must carry the messages
	cfg.SingleCopy = false
	const count, size = 128, 32 << 10
	commtest.RunConfig(t, 2, cfg, func(ctx context.Context, c *comm.Comm) error {
		// Random bytes: under SPMD_COMPRESS (CI's second pass) a
		// compressible message would shrink to nothing on the wire.
		msg := func(i int) []byte {
			b := make([]byte, size)
			_, _ = rand.NewChaCha8([32]byte{byte(i), 7}).Read(b)
			return b
		}
		if c.Rank() == 1 {
			got := make([]byte, size)
			for i := range count {
				if _, err := c.Recv(ctx, got, 0, i); err != nil {
					return err
				}
				if !bytes.Equal(got, msg(i)) {
					return fmt.Errorf("message %d arrived changed", i)
				}
			}
			return nil
		}
		if err := c.SetMaxPacing(1, 2e6); err != nil {
			return err
		}
		reqs := make([]*comm.Request, count)
		for i := range count {
			reqs[i] = c.Isend(msg(i), 1, i)
		}
		pending := 0
		for _, r := range reqs {
			if done, _, _ := r.Test(); !done {
				pending++
			}
		}
		if pending < count/2 {
			return fmt.Errorf("%d of %d Isends still pending when the last returned: the caller wrote the others into a paced socket", pending, count)
		}
		if err := comm.WaitAll(ctx, reqs...); err != nil {
			return err
		}
		return c.SetMaxPacing(1, 0)
	})
}

// SetYield marks the connection to that rank only with DSCP LE (the
// traffic-class byte 0x04), and unmarks it again; the messages still go.
func TestSetYield(t *testing.T) {
	cfg := comm.DefaultConfig()
	cfg.WANFirst = true
	commtest.RunConfig(t, 3, cfg, func(ctx context.Context, c *comm.Comm) error {
		if !c.WANFirst() {
			return fmt.Errorf("WANFirst not reported")
		}
		if c.Rank() != 0 {
			_, err := c.Recv(ctx, make([]byte, 4), 0, 0)
			return err
		}
		if err := c.SetYield(1, true); err != nil {
			return err
		}
		if err := c.SetYield(0, true); err != nil { // self: nothing to do
			return err
		}
		for r, want := range map[int]int{1: 4, 2: 0} {
			if got, err := comm.TrafficClassOf(c, r); err != nil || got != want {
				return fmt.Errorf("rank %d: traffic class %#x (%v), want %#x", r, got, err, want)
			}
		}
		for r := 1; r < 3; r++ {
			if err := c.Send(ctx, []byte("ping"), r, 0); err != nil {
				return err
			}
		}
		if err := c.SetYield(1, false); err != nil {
			return err
		}
		if got, _ := comm.TrafficClassOf(c, 1); got != 0 {
			return fmt.Errorf("after unmarking: %#x", got)
		}
		return nil
	})
}
