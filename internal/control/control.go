// Package control is the line protocol between a rank and the process that
// started it (spmdrun locally, or the per-host proxy): the job description
// with its secret, the rank's listening address, the address table, and
// abort requests. It runs over an inherited socket, never over argv or the
// environment, because it carries the job's secret.
package control

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/spmd-go/spmd/internal/stats"
)

// EnvFD names the environment variable holding the inherited control
// descriptor number. EnvRank and EnvSize are informational copies for
// programs and scripts; the authoritative values come over the socket.
const (
	EnvFD        = "SPMD_CONTROL_FD"
	EnvRank      = "SPMD_RANK"
	EnvSize      = "SPMD_SIZE"
	EnvLocalRank = "SPMD_LOCAL_RANK"
	EnvLocalSize = "SPMD_LOCAL_SIZE" // ranks of the job on this host
)

// Message types.
const (
	TypeJob   = "job"   // starter -> rank: who you are, the secret
	TypeAddr  = "addr"  // rank -> starter: where I listen
	TypeTable = "table" // starter -> rank: where everybody listens
	TypeAbort = "abort" // rank -> starter: end the whole job with Code
	TypeError = "error" // starter -> rank: the job could not start
	// With spmdrun --on-failure continue (shrink.go):
	TypeFailed = "failed" // starter -> rank: world rank Rank has ended (Reason says how)
	TypeShrink = "shrink" // rank -> starter: Comm.Shrink of communicator Key over Group; Dead: members it lost
	TypeShrunk = "shrunk" // starter -> rank: the agreed failed members (Dead) of Key, or Reason on misuse
	TypeStats  = "stats"  // rank -> starter: a snapshot of its counters (SPMD_STATS_EVERY)
	TypeJoined = "joined" // rank -> starter: Init is done (the mesh is up)
)

// Msg is one line of the protocol. Fields not used by a type stay empty.
type Msg struct {
	Type      string   `json:"type"`
	JobID     []byte   `json:"job_id,omitempty"`
	Secret    []byte   `json:"secret,omitempty"`
	Rank      int      `json:"rank,omitempty"`
	Size      int      `json:"size,omitempty"`
	ListenOn  string   `json:"listen_on,omitempty"`
	Addr      string   `json:"addr,omitempty"`
	Addrs     []string `json:"addrs,omitempty"`
	Hosts     []string `json:"hosts,omitempty"`
	Code      int      `json:"code,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	LocalRank int      `json:"local_rank,omitempty"`
	// In the table: each rank's region ("" for none) and rank on its
	// host.
	Regions    []string `json:"regions,omitempty"`
	LocalRanks []int    `json:"local_ranks,omitempty"`
	// In the table: infer regions from round-trip times instead of
	// (or without) labels (spmdrun --regions auto).
	RegionsAuto bool `json:"regions_auto,omitempty"`
	LocalSize   int  `json:"local_size,omitempty"`
	// In the job: a listening socket the rank inherited for the mesh
	// (its descriptor number), given with the whole table (Addrs, Hosts,
	// Regions, LocalRanks) so that the rank need not report an address
	// and wait for the table: a round trip saved across regions.
	ListenFD int `json:"listen_fd,omitempty"`
	// The rendezvous of a job started by another launcher (comm's
	// rendezvous.go): a rank's host and region, nonces and proofs.
	Host   string `json:"host,omitempty"`
	Region string `json:"region,omitempty"`
	Nonce  []byte `json:"nonce,omitempty"`
	MAC    string `json:"mac,omitempty"`
	// A rank's statistics (TypeStats).
	Stats *Stats `json:"stats,omitempty"`
	// Shrink requests and answers.
	Key   string `json:"key,omitempty"`
	Group []int  `json:"group,omitempty"`
	Dead  []int  `json:"dead,omitempty"`
}

// String describes m without its secret, for logs and errors.
func (m Msg) String() string {
	c := m
	if c.Secret != nil {
		c.Secret = []byte("<redacted>")
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// MaxLine caps one line of the protocol.
const MaxLine = 16 << 20

// Conn reads and writes messages on a stream. Send is safe for concurrent
// use; Recv must be called from one goroutine at a time.
type Conn struct {
	rw  io.ReadWriteCloser
	br  *bufio.Reader
	wmu sync.Mutex
}

// NewConn wraps rw.
func NewConn(rw io.ReadWriteCloser) *Conn {
	return &Conn{rw: rw, br: bufio.NewReaderSize(rw, 64<<10)}
}

// Send writes one message.
func (c *Conn) Send(m Msg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.rw.Write(b)
	return err
}

// Recv reads one message.
func (c *Conn) Recv() (Msg, error) {
	var m Msg
	line, err := c.readLine()
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return m, fmt.Errorf("control: bad message: %v", err)
	}
	if m.Type == "" {
		return m, fmt.Errorf("control: message without a type")
	}
	return m, nil
}

func (c *Conn) readLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > MaxLine {
			return nil, fmt.Errorf("control: line longer than %d bytes", MaxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return line, nil
	}
}

// Close closes the stream.
func (c *Conn) Close() error { return c.rw.Close() }

// Stats is a rank's report for spmdrun's --stats, --metrics and
// --dashboard.
type Stats struct {
	Wall float64 `json:"wall"` // seconds since Init
	Comm float64 `json:"comm"` // of which some goroutine waited for communication
	// Region is the rank's region (labelled or inferred; "" for none).
	Region string `json:"region,omitempty"`
	// SentBytes is what the rank handed to the ranks of each region.
	SentBytes map[string]int64 `json:"sent_bytes"`
	SentMsgs  int64            `json:"sent_msgs"`
	// SentMsgsTo is SentMsgs by the receiving rank's region.
	SentMsgsTo map[string]int64 `json:"sent_msgs_to,omitempty"`
	// PeerBytes and PeerMsgs are what it sent to each world rank.
	PeerBytes   []int64    `json:"peer_bytes,omitempty"`
	PeerMsgs    []int64    `json:"peer_msgs,omitempty"`
	Collectives []stats.Op `json:"collectives,omitempty"`
}
