package collectives

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spmd-go/spmd/comm"
)

// checker runs the argument checks of one communicator and coalesces
// them: every check is a dissemination (check.go) of its own, but the
// entries that several checks send to one rank in one round travel in one
// message, so a burst of small collectives costs little more than one
// check. One goroutine (loop) sends and receives them, from the
// communicator's first collective until it closes.
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
	mu      sync.Mutex
	active  map[uint64]*checkRun
	early   map[entryKey][]byte // entries that came before their round
	outbox  map[int][]byte      // entries to send, by destination
	running bool
	wake    chan struct{}
	urgent  atomic.Int32 // goroutines waiting for a verdict
	since   time.Time    // when the oldest unsent entry was queued
	queued  int          // unsent entries
	sending int          // batches taken from outbox and being sent
	stopped bool         // the communicator is closing: the loop ends
}

// Unsent entries wait for company until a verdict is awaited, flushAfter
// has passed or flushAt of them have gathered, so a burst of calls shares
// messages. The delay bounds how late a disagreement that stalls a call
// is found.
const (
	flushAfter = 500 * time.Microsecond
	flushAt    = 16
)

type entryKey struct {
	seq   uint64
	round int
}

type checkRun struct {
	seq   uint64
	op    string
	round int // the round whose entry we wait for
	rec   []byte
	pc    *pendingCheck
}

const checkTag = checkFlag // data tags never have this bit
const wireEntryLen = 8 + 1 + recordLen

func newChecker(c *comm.Comm, onFail func(error)) *checker {
	p := c.Size()
	k := 0
	for d := 1; d < p; d *= 2 {
		k++
	}
	return &checker{onFail: onFail, c: c.Collective(), p: p, r: c.Rank(), k: k, active: map[uint64]*checkRun{}, early: map[entryKey][]byte{}, wake: make(chan struct{}, 1)}
}

// start begins the check of call seq with this rank's signature; pc is
// completed with its verdict.
func (ch *checker) start(seq uint64, op string, sig signature, pc *pendingCheck) {
	rec := make([]byte, recordLen)
	binary.LittleEndian.PutUint32(rec, uint32(ch.r))
	sig.encode(rec[4:entryLen])
	copy(rec[entryLen:], rec[:entryLen])
	run := &checkRun{seq: seq, op: op, rec: rec, pc: pc}
	ch.mu.Lock()
	ch.active[seq] = run
	first := ch.queued == 0
	ch.outbox = ch.advanceLocked(run, ch.outbox)
	spawn := !ch.running
	ch.running = true
	due := ch.queued >= flushAt
	ch.mu.Unlock()
	if spawn {
		go ch.loop()
	} else if first || due {
		ch.poke() // the loop arms its timer for a new batch, or sends
	}
}

// stop ends the loop once the communicator's checks are done (drain).
func (ch *checker) stop() {
	ch.mu.Lock()
	ch.stopped = true
	ch.mu.Unlock()
	ch.poke()
}

// flush sends every queued entry now and waits (within ctx) until no
// batch is being sent, so that nothing of ours is still unsent when the
// communicator closes.
func (ch *checker) flush(ctx context.Context) {
	ch.mu.Lock()
	out := ch.outbox
	ch.outbox, ch.queued = nil, 0
	ch.mu.Unlock()
	ch.send(out)
	for ctx.Err() == nil {
		ch.mu.Lock()
		idle := ch.queued == 0 && ch.sending == 0
		ch.mu.Unlock()
		if idle {
			return
		}
		ch.poke()
		time.Sleep(50 * time.Microsecond)
	}
}

// advanceLocked sends run's record for its current round and takes in
// entries that already came, until it must wait or is done. Outgoing
// entries are appended to out, by destination.
func (ch *checker) advanceLocked(run *checkRun, out map[int][]byte) map[int][]byte {
	for {
		if run.round == ch.k {
			ch.finishLocked(run)
			return out
		}
		d := 1 << run.round
		if out == nil {
			out = map[int][]byte{}
		}
		dst := (ch.r + d) % ch.p
		out[dst] = appendEntry(out[dst], run.seq, run.round, run.rec)
		if ch.queued == 0 {
			ch.since = time.Now()
		}
		ch.queued++
		key := entryKey{run.seq, run.round}
		in, ok := ch.early[key]
		if !ok {
			return out
		}
		delete(ch.early, key)
		mergeRecord(run.rec, in)
		run.round++
	}
}

func (ch *checker) finishLocked(run *checkRun) {
	delete(ch.active, run.seq)
	lo, hi := run.rec[4:entryLen], run.rec[entryLen+4:]
	if string(lo) != string(hi) {
		run.pc.err = &MismatchError{
			Op:    run.op,
			Call:  run.seq,
			Ranks: [2]int{int(binary.LittleEndian.Uint32(run.rec)), int(binary.LittleEndian.Uint32(run.rec[entryLen:]))},
			a:     decodeSig(lo), b: decodeSig(hi),
		}
		ch.onFail(run.pc.err)
	}
	close(run.pc.done)
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

// loop sends queued entries and receives check messages. Entries queued
// while it was busy leave together. It runs from the communicator's first
// collective until the communicator closes (or a peer is lost), keeping a
// receive posted: withdrawing one could drop a message being read.
func (ch *checker) loop() {
	buf := make([]byte, maxEntries*wireEntryLen)
	rq := ch.c.Irecv(buf, comm.AnySource, checkTag)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ch.mu.Lock()
		if ch.stopped && ch.queued == 0 {
			ch.running = false
			ch.mu.Unlock()
			// Every check of ours is done, so no entry is due to us:
			// withdrawing the receive loses nothing.
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			_, _ = rq.Wait(cancelled)
			return
		}
		var out map[int][]byte
		wait := time.Duration(-1)
		if ch.queued > 0 {
			age := time.Since(ch.since)
			// With no check of ours left, nothing else will come to
			// share the messages: send now.
			if ch.urgent.Load() > 0 || age >= flushAfter || ch.queued >= flushAt || len(ch.active) == 0 {
				out, ch.outbox, ch.queued = ch.outbox, nil, 0
				ch.sending++
			} else {
				wait = flushAfter - age
			}
		}
		ch.mu.Unlock()
		if out != nil {
			ch.send(out)
			ch.mu.Lock()
			ch.sending--
			ch.mu.Unlock()
			continue
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-rq.Done():
			if err := ch.take(buf, rq); err != nil {
				ch.failAll(err)
				return
			}
			rq = ch.c.Irecv(buf, comm.AnySource, checkTag)
		case <-ch.wake:
		case <-tick:
		}
		if wait >= 0 && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
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
	defer ch.mu.Unlock()
	for b := buf[:st.Len]; len(b) > 0; b = b[wireEntryLen:] {
		seq := binary.LittleEndian.Uint64(b)
		round := int(b[8])
		rec := b[9:wireEntryLen]
		if round >= ch.k || st.Source != (ch.r-(1<<round)%ch.p+ch.p)%ch.p {
			continue // not an entry this rank can be sent
		}
		if run, ok := ch.active[seq]; ok && run.round == round {
			mergeRecord(run.rec, rec)
			run.round++
			ch.outbox = ch.advanceLocked(run, ch.outbox)
			continue
		}
		ch.early[entryKey{seq, round}] = append([]byte(nil), rec...)
	}
	return nil
}

// await waits for pc's verdict, telling the loop to send at once.
func (ch *checker) await(ctx context.Context, pc *pendingCheck) error {
	select {
	case <-pc.done:
		return pc.err
	default:
	}
	ch.urgent.Add(1)
	defer ch.urgent.Add(-1)
	ch.poke()
	select {
	case <-pc.done:
		return pc.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (ch *checker) poke() {
	select {
	case ch.wake <- struct{}{}:
	default:
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
		close(run.pc.done)
	}
	ch.running = false
}
