package comm

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	// Hosts names the host of each rank of an in-process job (Local), as
	// the launcher's table does for a launched one, so that host-aware
	// code (ranks that share a host's link) can be tested in one process.
	// Ranks of one host are never encrypted under EncryptWAN. Init
	// ignores it.
	Hosts []string
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
	// Heartbeat is how long a peer may be silent before it is lost: the
	// kernel probes each mesh connection after Heartbeat/4 without a
	// segment from the peer and drops it when data or probes go
	// unacknowledged for Heartbeat (heartbeat.go). A busy peer's kernel
	// still answers, so only a dead host or a cut network counts. Zero
	// keeps the kernel's defaults (a silent peer may go unnoticed for
	// minutes).
	Heartbeat time.Duration
	// Encrypt says which mesh connections are encrypted (AES-256-GCM with
	// keys derived per connection from the job secret and both handshake
	// nonces; see docs/security.md): EncryptWAN (the default) those
	// between hosts not known to share a region, EncryptAll every one,
	// EncryptNone none. Every rank of a job must use the same mode.
	Encrypt EncryptMode
	// Compress says which connections compress messages of 4 KiB or more
	// with zstd, where it saves an eighth or more (comm/compress.go):
	// CompressNone (the default), CompressWAN (as EncryptWAN chooses),
	// CompressAll. Receivers always understand compressed messages.
	Compress CompressMode
	// SingleCopy lets a rank read a large message (2 MiB or more) from
	// a sender on its host straight out of the sender's memory
	// (process_vm_readv; comm/remote.go): one copy instead of two through
	// a loopback socket. It is used between two ranks only when the
	// receiver could read the sender's memory when the mesh came up, and
	// never on encrypted or compressing connections. On by default.
	SingleCopy bool
	// SingleCopyMin is the smallest message sent single-copy (2 MiB; at
	// least 1). Below about 2 MiB the two copies through a loopback socket,
	// made by two cores at once, are as fast (docs/algorithms.md).
	SingleCopyMin int
	// SharedMemory sends every message to a rank on this host through a
	// ring in memory both processes map (comm/shm.go) instead of the
	// loopback socket, which then only wakes a sleeping reader and reports
	// the peer's end: a small message costs no system call while the
	// receiver polls. Like SingleCopy it is used only between ranks that
	// may read each other's memory, and never on encrypted or compressing
	// connections. On by default.
	SharedMemory bool
	// Streams is how many TCP connections carry the messages between two
	// ranks that may be in different regions (comm/streams.go): one TCP
	// flow moves at most its window per round trip, so on a long path a
	// single flow cannot fill a fast link. 1 (the default) is one
	// connection per pair; 0 lets the cost model choose per pair from the
	// round trip the handshake timed, LinkBandwidth and the kernel's
	// buffer caps (topology.Streams); n opens n to every such peer (at
	// most topology.MaxStreams). Messages go on a stream only when the
	// sender picks one (Comm.Stream); package collectives spreads the
	// segments of its pipelined algorithms across them. One is the
	// default because on the lab more streams sped up one transfer but
	// not the collectives (docs/algorithms.md).
	Streams int
	// LinkBandwidth is each host's bandwidth in bytes per second, for
	// choosing Streams (0: take 100 Mbit/s, a common VPS plan) and, when
	// given, pacing a pair's streams at its share (streams.go). Init sets
	// it from SPMD_BW_MBIT (spmdrun --bw-mbit), which package collectives'
	// cost model also reads.
	LinkBandwidth float64
	// WANFirst says that every host of the job sends packets marked
	// lower-effort (DSCP LE) only when no other packet waits at its egress
	// (docs/walkthrough.md, "Tuning", gives the tc commands). Package
	// collectives then marks a rank's connections inside its region
	// (Comm.SetYield) for calls whose WAN sends should not wait behind
	// them, and prices those calls accordingly. Every rank of a job must
	// give the same value. Init sets it from SPMD_WAN_FIRST (spmdrun
	// --wan-first). Off by default: without such a queue the marks change
	// nothing and the model would count on an order the host does not
	// keep.
	WANFirst bool
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
		Heartbeat:        8 * time.Second,
		Encrypt:          EncryptWAN,
		SingleCopy:       true,
		SingleCopyMin:    remoteMin,
		SharedMemory:     true,
		Streams:          1,
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
	if c.SingleCopyMin < 1 {
		errs = append(errs, fmt.Errorf("comm: SingleCopyMin %d must be at least 1", c.SingleCopyMin))
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
	if c.Heartbeat < 0 {
		errs = append(errs, fmt.Errorf("comm: Heartbeat %v must not be negative", c.Heartbeat))
	}
	if c.Encrypt < EncryptWAN || c.Encrypt > EncryptAll {
		errs = append(errs, fmt.Errorf("comm: Encrypt %d is not EncryptWAN, EncryptNone or EncryptAll", c.Encrypt))
	}
	if c.Compress < CompressNone || c.Compress > CompressAll {
		errs = append(errs, fmt.Errorf("comm: Compress %d is not CompressNone, CompressWAN or CompressAll", c.Compress))
	}
	if c.Streams < 0 || c.Streams > maxStreams {
		errs = append(errs, fmt.Errorf("comm: Streams %d must be 0 (chosen per pair) or 1 to %d", c.Streams, maxStreams))
	}
	if c.LinkBandwidth < 0 {
		errs = append(errs, fmt.Errorf("comm: LinkBandwidth %g must not be negative", c.LinkBandwidth))
	}
	if c.MaxMessage < 0 {
		errs = append(errs, fmt.Errorf("comm: MaxMessage %d must not be negative", c.MaxMessage))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return errors.Join(errs...)
}

// EncryptMode says which mesh connections are encrypted.
type EncryptMode int

const (
	// EncryptWAN encrypts connections between ranks on different hosts
	// unless the launcher labelled both hosts with the same region.
	EncryptWAN EncryptMode = iota
	// EncryptNone encrypts nothing (connections are still authenticated).
	EncryptNone
	// EncryptAll encrypts every connection, even within a host.
	EncryptAll
)

func (m EncryptMode) String() string {
	switch m {
	case EncryptWAN:
		return "wan"
	case EncryptNone:
		return "none"
	case EncryptAll:
		return "all"
	}
	return fmt.Sprintf("EncryptMode(%d)", int(m))
}

// ParseEncryptMode parses "none", "wan" or "all".
func ParseEncryptMode(s string) (EncryptMode, error) {
	return parseMode(s, "encryption", EncryptNone, EncryptWAN, EncryptAll)
}

// parseMode returns the mode whose String is s; what names the setting
// in the error. modes are listed as the error lists them.
func parseMode[M interface {
	~int
	String() string
}](s, what string, modes ...M) (M, error) {
	var names []string
	for _, m := range modes {
		if s == m.String() {
			return m, nil
		}
		names = append(names, m.String())
	}
	return 0, fmt.Errorf("%s %q: want %s or %s", what, s, strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}
