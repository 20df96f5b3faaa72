package comm

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spmd-go/spmd/internal/wire"
)

// Config holds the knobs of a rank's transport. Use DefaultConfig and
// change what you need.
type Config struct {
	// HandshakeTimeout bounds the authentication of one connection.
	HandshakeTimeout time.Duration
	// ConnectTimeout bounds building the whole mesh.
	ConnectTimeout time.Duration
	// CloseTimeout bounds how long Close waits for outgoing data to be
	// written and for peers to acknowledge the end of the connection.
	CloseTimeout time.Duration
	// MaxFrame caps the payload of one frame; larger messages are split.
	MaxFrame int
	// MaxMessage caps one message; a peer announcing more is dropped.
	MaxMessage int64
	// SpinWait is how long a connection's reader polls the socket before
	// parking while a goroutine waits for a message (see docs). Zero
	// disables polling: lower CPU use, higher latency on fast networks.
	SpinWait time.Duration
	// SpinYield makes polling give the processor away between polls
	// (sched_yield), for hosts with more ranks than cores, where the rank
	// we wait for may need our core. Init turns it on when the launcher
	// reports more ranks on this host than CPUs.
	SpinYield bool
	// Regions labels the ranks of an in-process job (Local) with regions,
	// as a hostfile's region= does for a launched one, so that
	// region-aware code can be tested in one process. Init ignores it.
	Regions []string
	// WarmUp is how many bytes Comm.WarmUp sends to (and receives from)
	// each rank of another region in this rank's lane, so that the
	// kernel's congestion control learns the WAN path's bandwidth; package
	// collectives calls it before a communicator's first call that moves
	// 2 KiB or more across regions (see docs/algorithms.md, "Warm WAN
	// connections"). Zero turns it off; jobs within one region never warm
	// up.
	WarmUp int64
	// InferRegions makes Init group hosts into regions by the round-trip
	// times measured while the mesh connects, even when the launcher gave
	// region labels. A job on several hosts without labels infers them
	// anyway.
	InferRegions bool
	// Logger receives connection events (rejected handshakes, lost peers).
	// Nothing logged contains the job secret. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the configuration used by Init.
func DefaultConfig() Config {
	return Config{
		HandshakeTimeout: 10 * time.Second,
		ConnectTimeout:   60 * time.Second,
		CloseTimeout:     30 * time.Second,
		MaxFrame:         wire.DefaultMaxFrame,
		MaxMessage:       1 << 40,
		SpinWait:         50 * time.Microsecond,
		WarmUp:           1 << 20,
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.HandshakeTimeout <= 0 {
		errs = append(errs, fmt.Errorf("comm: HandshakeTimeout %v must be positive", c.HandshakeTimeout))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("comm: ConnectTimeout %v must be positive", c.ConnectTimeout))
	}
	if c.CloseTimeout <= 0 {
		errs = append(errs, fmt.Errorf("comm: CloseTimeout %v must be positive", c.CloseTimeout))
	}
	if c.MaxFrame < 1 || c.MaxFrame > 1<<30 {
		errs = append(errs, fmt.Errorf("comm: MaxFrame %d must be in [1, 2^30]", c.MaxFrame))
	}
	if c.SpinWait < 0 {
		errs = append(errs, fmt.Errorf("comm: SpinWait %v must not be negative", c.SpinWait))
	}
	if c.WarmUp < 0 {
		errs = append(errs, fmt.Errorf("comm: WarmUp %d must not be negative", c.WarmUp))
	}
	if c.MaxMessage < 0 {
		errs = append(errs, fmt.Errorf("comm: MaxMessage %d must not be negative", c.MaxMessage))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return errors.Join(errs...)
}
