package collectives

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/topology"
)

// checker runs the argument checks of one communicator and coalesces
// them: every check is a dissemination (check.go) of its own, but the
// entries that several checks send to one rank in one round travel in one
// message, so a burst of small collectives costs little more than one
// check. Entries are sent by whichever goroutine finds a batch due (the
// caller of a collective, the receiving loop, a timer, a goroutine waiting
// for a verdict); one goroutine (loop) receives, from the communicator's
// first collective until it closes. No goroutine is woken just to send.
//
// Wire format of a check message: entries of
//
//	seq    uint64
//	round  uint8
//	record [recordLen]byte
type checker struct {
	c       *comm.Comm  // collective view
	onFail  func(error) // called with every disagreement found
	p, r, k int         // size, rank, rounds
	sch     schedule    // whom each round sends to and hears from
	mu      sync.Mutex
	active  map[uint64]*checkRun
	early   map[entryKey]*earlyEntry // entries that came before their round
	outbox  map[int][]byte           // entries to send, by destination
	spare   map[int][]byte           // a sent outbox, emptied, for reuse
	free    []*checkRun              // finished runs, for reuse
	queued  int                      // unsent entries
	sending int                      // batches taken from outbox and being sent
	timer   *time.Timer              // sends a batch that waited flushAfter
	armed   bool
	urgent  atomic.Int32 // goroutines waiting for a verdict
	running bool         // the receiving loop runs
	stopCh  chan struct{}
	stopped bool
}

// Unsent entries wait for company until a verdict is awaited, flushAfter
// has passed or flushAt of them have gathered, so a burst of calls shares
// messages. The delay bounds how late a disagreement that stalls a call
// is found.
const (
	flushAfter = 500 * time.Microsecond
	flushAt    = 64
)

type entryKey struct {
	seq   uint64
	round int
}

type checkRun struct {
	seq   uint64
	op    string
	round int // the round whose entries we wait for
	got   int // entries of that round merged so far
	rec   [recordLen]byte
	pc    *pendingCheck
}

// earlyEntry is what came for a round a check has not reached: the merged
// records and how many there were.
type earlyEntry struct {
	rec []byte
	n   int
}

// schedule says, for each round of a check, to whom a rank sends its
// record and from whom it must hear before the next round. Any schedule
// after which every rank has merged every rank's record will do, since
// merging is associative and commutative.
type schedule struct {
	dests [][]int
	srcs  []map[int]bool
}

// disseminationSchedule: in round i, rank r sends to r+2^i and hears from
// r-2^i; ceil(log2 p) rounds.
func disseminationSchedule(p, r, k int) schedule {
	var s schedule
	for i := 0; i < k; i++ {
		d := 1 << i
		s.dests = append(s.dests, []int{(r + d) % p})
		s.srcs = append(s.srcs, map[int]bool{(r - d%p + p) % p: true})
	}
	return s
}

// regionSchedule, for ranks in several regions: members send to their
// region's leader; the leaders send to one another (the only round that
// crosses regions); the leaders send the result to their members. Three
// rounds, one of them across the WAN, where dissemination crosses it in
// most of its ceil(log2 p) rounds.
func regionSchedule(t topology.Topology, r int) schedule {
	own := t.RegionOf[r]
	leader := t.Leader[own]
	s := schedule{dests: make([][]int, 3), srcs: []map[int]bool{{}, {}, {}}}
	if r != leader {
		s.dests[0] = []int{leader}
		s.srcs[2][leader] = true
		return s
	}
	for _, m := range t.Members[own] {
		if m != r {
			s.srcs[0][m] = true
			s.dests[2] = append(s.dests[2], m)
		}
	}
	for reg, l := range t.Leader {
		if reg != own {
			s.dests[1] = append(s.dests[1], l)
			s.srcs[1][l] = true
		}
	}
	return s
}

const checkTag = checkFlag // data tags never have this bit
const wireEntryLen = 8 + 1 + recordLen

// newChecker makes the checker of c, whose ranks fall into regions as t
// says (the communicator's topology, computed once by its state).
func newChecker(c *comm.Comm, t topology.Topology, onFail func(error)) *checker {
	p := c.Size()
	k := 0
	for d := 1; d < p; d *= 2 {
		k++
	}
	ch := &checker{onFail: onFail, c: c.Collective(), p: p, r: c.Rank(), k: k, active: map[uint64]*checkRun{}, early: map[entryKey]*earlyEntry{}, stopCh: make(chan struct{})}
	ch.sch = disseminationSchedule(p, ch.r, k)
	if t.Regions() > 1 {
		ch.k, ch.sch = 3, regionSchedule(t, ch.r)
	}
	ch.timer = time.AfterFunc(time.Hour, ch.timed)
	ch.timer.Stop()
	return ch
}

// start begins the check of call seq with this rank's signature; pc is
// completed with its verdict.
func (ch *checker) start(seq uint64, op string, sig signature, pc *pendingCheck) {
	ch.mu.Lock()
	run := ch.newRunLocked()
	ch.mu.Unlock()
	run.seq, run.op, run.pc = seq, op, pc
	binary.LittleEndian.PutUint32(run.rec[:], uint32(ch.r))
	sig.encode(run.rec[4:entryLen])
	copy(run.rec[entryLen:], run.rec[:entryLen])
	ch.mu.Lock()
	ch.active[seq] = run
	ch.advanceLocked(run)
	spawn := !ch.running
	ch.running = true
	out := ch.dueLocked()
	ch.mu.Unlock()
	ch.sendBatch(out)
	if spawn {
		go ch.loop()
	}
}

// dueLocked takes the outbox if it is due now (a full batch, or a verdict
// awaited), and otherwise makes sure the timer will send it.
func (ch *checker) dueLocked() map[int][]byte {
	if ch.queued == 0 {
		return nil
	}
	if ch.queued < flushAt && ch.urgent.Load() == 0 {
		if !ch.armed {
			ch.armed = true
			ch.timer.Reset(flushAfter)
		}
		return nil
	}
	return ch.takeLocked()
}

func (ch *checker) takeLocked() map[int][]byte {
	out := ch.outbox
	if out != nil {
		ch.sending++
	}
	ch.outbox, ch.queued = ch.spare, 0
	ch.spare = nil
	if ch.armed {
		ch.armed = false
		ch.timer.Stop()
	}
	return out
}

// sendBatch sends a batch taken by takeLocked.
func (ch *checker) sendBatch(out map[int][]byte) {
	if out == nil {
		return
	}
	ch.send(out)
	// Sends are eager: the buffers are free again.
	for dst, b := range out {
		out[dst] = b[:0]
	}
	ch.mu.Lock()
	ch.sending--
	if ch.spare == nil {
		ch.spare = out
	}
	ch.mu.Unlock()
}

// timed sends what waited flushAfter.
func (ch *checker) timed() {
	ch.mu.Lock()
	var out map[int][]byte
	if ch.armed {
		ch.armed = false
		out = ch.takeLocked()
	}
	ch.mu.Unlock()
	ch.sendBatch(out)
}

// sendNow sends whatever is queued (a verdict is awaited).
func (ch *checker) sendNow() {
	ch.mu.Lock()
	out := ch.takeLocked()
	ch.mu.Unlock()
	ch.sendBatch(out)
}

// advanceLocked queues run's record for its current round and takes in
// entries that already came, until it must wait or is done.
func (ch *checker) advanceLocked(run *checkRun) {
	for {
		if run.round == ch.k {
			ch.finishLocked(run)
			return
		}
		if ch.outbox == nil {
			ch.outbox = map[int][]byte{}
		}
		for _, dst := range ch.sch.dests[run.round] {
			ch.outbox[dst] = appendEntry(ch.outbox[dst], run.seq, run.round, run.rec[:])
			ch.queued++
		}
		key := entryKey{run.seq, run.round}
		if in, ok := ch.early[key]; ok {
			delete(ch.early, key)
			mergeRecord(run.rec[:], in.rec)
			run.got += in.n
		}
		if run.got < len(ch.sch.srcs[run.round]) {
			return
		}
		run.got = 0
		run.round++
	}
}

// newRunLocked returns a checkRun from the free list, or a new one.
func (ch *checker) newRunLocked() *checkRun {
	if n := len(ch.free); n > 0 {
		run := ch.free[n-1]
		ch.free = ch.free[:n-1]
		return run
	}
	return new(checkRun)
}

func (ch *checker) finishLocked(run *checkRun) {
	defer func() {
		*run = checkRun{}
		if len(ch.free) < 64 {
			ch.free = append(ch.free, run)
		}
	}()
	delete(ch.active, run.seq)
	lo, hi := run.rec[4:entryLen], run.rec[entryLen+4:]
	if string(lo) != string(hi) {
		run.pc.err = &MismatchError{
			Op:    run.op,
			Call:  run.seq,
			Ranks: [2]int{int(binary.LittleEndian.Uint32(run.rec[:])), int(binary.LittleEndian.Uint32(run.rec[entryLen:]))},
			a:     decodeSig(lo), b: decodeSig(hi),
		}
		ch.onFail(run.pc.err)
	}
	run.pc.finish()
}

func appendEntry(b []byte, seq uint64, round int, rec []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = append(b, byte(round))
	return append(b, rec...)
}

// maxEntries caps the entries of one check message (and so the receive
// buffer): 128 entries, 12 KiB.
const maxEntries = 128

// send writes the coalesced entries, in as few messages per destination
// as maxEntries allows. Sends are eager; a failed one shows up as a
// failed receive at the peer.
func (ch *checker) send(out map[int][]byte) {
	for dst, b := range out {
		for len(b) > 0 {
			n := min(len(b), maxEntries*wireEntryLen)
			_ = ch.c.Send(context.Background(), b[:n], dst, checkTag)
			b = b[n:]
		}
	}
}

// stop ends the loop once the communicator's checks are done (drain).
func (ch *checker) stop() {
	ch.mu.Lock()
	if !ch.stopped {
		ch.stopped = true
		close(ch.stopCh)
	}
	ch.mu.Unlock()
}

// flush sends every queued entry now and waits (within ctx) until no
// batch is being sent, so that nothing of ours is still unsent when the
// communicator closes.
func (ch *checker) flush(ctx context.Context) {
	ch.sendNow()
	for ctx.Err() == nil {
		ch.mu.Lock()
		idle := ch.queued == 0 && ch.sending == 0
		ch.mu.Unlock()
		if idle {
			return
		}
		ch.sendNow()
		time.Sleep(50 * time.Microsecond)
	}
}

// loop receives check messages. It keeps a receive posted from the
// communicator's first collective until it closes (or a peer is lost):
// withdrawing a receive could drop a message being read.
func (ch *checker) loop() {
	buf := make([]byte, maxEntries*wireEntryLen)
	rq := ch.c.Irecv(buf, comm.AnySource, checkTag)
	for {
		select {
		case <-rq.Done():
			if err := ch.take(buf, rq); err != nil {
				ch.failAll(err)
				return
			}
			rq = ch.c.Irecv(buf, comm.AnySource, checkTag)
		case <-ch.stopCh:
			// Every check of ours is done, so no entry is due to us:
			// withdrawing the receive loses nothing.
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			_, _ = rq.Wait(cancelled)
			ch.mu.Lock()
			ch.running = false
			ch.mu.Unlock()
			return
		}
	}
}

// take processes a completed receive.
func (ch *checker) take(buf []byte, rq *comm.Request) error {
	st, err := rq.Wait(context.Background())
	if err == nil && (st.Len%wireEntryLen != 0 || st.Len == 0) {
		err = fmt.Errorf("collectives: argument check: a malformed %d-byte message from rank %d", st.Len, st.Source)
	}
	if err != nil {
		return err
	}
	ch.mu.Lock()
	for b := buf[:st.Len]; len(b) > 0; b = b[wireEntryLen:] {
		seq := binary.LittleEndian.Uint64(b)
		round := int(b[8])
		rec := b[9:wireEntryLen]
		if round >= ch.k || !ch.sch.srcs[round][st.Source] {
			continue // not an entry this rank can be sent
		}
		if run, ok := ch.active[seq]; ok && run.round == round {
			mergeRecord(run.rec[:], rec)
			if run.got++; run.got == len(ch.sch.srcs[round]) {
				run.got = 0
				run.round++
				ch.advanceLocked(run)
			}
			continue
		}
		key := entryKey{seq, round}
		if e, ok := ch.early[key]; ok {
			mergeRecord(e.rec, rec)
			e.n++
		} else {
			ch.early[key] = &earlyEntry{rec: append([]byte(nil), rec...), n: 1}
		}
	}
	out := ch.dueLocked()
	ch.mu.Unlock()
	ch.sendBatch(out)
	return nil
}

// await waits for pc's verdict, telling the loop to send at once.
func (ch *checker) await(ctx context.Context, pc *pendingCheck) error {
	if pc.finished.Load() {
		return pc.err
	}
	ch.urgent.Add(1)
	defer ch.urgent.Add(-1)
	ch.sendNow()
	select {
	case <-pc.done():
		return pc.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failAll ends every unfinished check with err (a lost peer, a closed
// communicator).
func (ch *checker) failAll(err error) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for _, run := range ch.active {
		delete(ch.active, run.seq)
		run.pc.err = fmt.Errorf("collectives: argument check of call %d: %w", run.seq, err)
		run.pc.finish()
	}
	ch.running = false
}
