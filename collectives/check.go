package collectives

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/spmd-go/spmd/comm"
)

// The argument check. Every collective call compares what each rank passed
// (operation, root, element type and count, reduction, algorithm, segment
// size, and for the v-variants a digest of the counts that every rank must
// agree on). The ranks compute, by dissemination, the smallest and the
// largest signature over all ranks with the rank that gave each: after
// ceil(log2 p) rounds every rank holds the same pair, and they differ
// exactly when some ranks disagree. The check runs beside the algorithm,
// so it adds messages but, for an agreeing call, hardly any waiting; a
// rank returns only when both are done, so every rank sees the same
// verdict.

// signature is what the ranks must agree on for one call.
type signature struct {
	kind    uint8  // operation, see opNames
	elem    uint8  // element kind (reflect.Kind)
	esize   uint16 // element size
	root    int32  // -1 when the operation has none
	count   int64  // elements per rank as the operation defines it, -1 if not compared
	op      uint32 // reduction id, 0 for none
	alg     uint8
	seg     int64
	vdigest uint64 // digest of counts every rank must agree on, or 0
}

const sigLen = 40

func (s signature) encode(b []byte) {
	b[0] = s.kind
	b[1] = s.elem
	binary.LittleEndian.PutUint16(b[2:], s.esize)
	binary.LittleEndian.PutUint32(b[4:], uint32(s.root))
	binary.LittleEndian.PutUint64(b[8:], uint64(s.count))
	binary.LittleEndian.PutUint32(b[16:], s.op)
	b[20] = s.alg
	b[21], b[22], b[23] = 0, 0, 0
	binary.LittleEndian.PutUint64(b[24:], uint64(s.seg))
	binary.LittleEndian.PutUint64(b[32:], s.vdigest)
}

func decodeSig(b []byte) signature {
	return signature{
		kind:    b[0],
		elem:    b[1],
		esize:   binary.LittleEndian.Uint16(b[2:]),
		root:    int32(binary.LittleEndian.Uint32(b[4:])),
		count:   int64(binary.LittleEndian.Uint64(b[8:])),
		op:      binary.LittleEndian.Uint32(b[16:]),
		alg:     b[20],
		seg:     int64(binary.LittleEndian.Uint64(b[24:])),
		vdigest: binary.LittleEndian.Uint64(b[32:]),
	}
}

// A check record holds two (rank, signature) entries: the least and the
// greatest signature seen so far.
const entryLen = 4 + sigLen
const recordLen = 2 * entryLen

// Among equal signatures the lowest rank wins, so that every rank ends
// with the same record.
func mergeRecord(dst, src []byte) {
	if better(src[:entryLen], dst[:entryLen], -1) {
		copy(dst[:entryLen], src[:entryLen])
	}
	if better(src[entryLen:], dst[entryLen:], 1) {
		copy(dst[entryLen:], src[entryLen:])
	}
}

// better reports whether entry a beats b: its signature compares as dir
// (-1 smaller, 1 greater), or it is equal and a's rank is lower.
func better(a, b []byte, dir int) bool {
	switch bytes.Compare(a[4:], b[4:]) {
	case dir:
		return true
	case 0:
		return binary.LittleEndian.Uint32(a) < binary.LittleEndian.Uint32(b)
	}
	return false
}

// check runs the argument check of k with this rank's signature.
func (k *call) check(ctx context.Context, sig signature) error {
	rec := make([]byte, recordLen)
	binary.LittleEndian.PutUint32(rec, uint32(k.rank))
	sig.encode(rec[4:entryLen])
	copy(rec[entryLen:], rec[:entryLen])
	if err := disseminate(ctx, k.c, k.tag(0)|checkFlag, rec); err != nil {
		return err
	}
	lo, hi := rec[4:entryLen], rec[entryLen+4:]
	if bytes.Equal(lo, hi) {
		return nil
	}
	return &MismatchError{
		Op:    k.name,
		Ranks: [2]int{int(binary.LittleEndian.Uint32(rec)), int(binary.LittleEndian.Uint32(rec[entryLen:]))},
		a:     decodeSig(lo), b: decodeSig(hi),
	}
}

// disseminate merges rec with every rank's record: in round i, rank r
// sends to r+2^i and receives from r-2^i (mod p). The tags of round i are
// tag+i.
func disseminate(ctx context.Context, c *comm.Comm, tag int, rec []byte) error {
	p, r := c.Size(), c.Rank()
	in := make([]byte, len(rec))
	out := make([]byte, len(rec))
	var sends []*comm.Request
	defer func() { _ = comm.WaitAll(context.Background(), sends...) }()
	for i, d := 0, 1; d < p; i, d = i+1, d*2 {
		copy(out, rec)
		rr := c.Irecv(in, (r-d+p)%p, tag+i)
		sends = append(sends, c.Isend(out, (r+d)%p, tag+i))
		st, err := rr.Wait(ctx)
		if err != nil {
			return fmt.Errorf("collectives: argument check, round %d: %w", i, err)
		}
		if st.Len != len(rec) {
			return fmt.Errorf("collectives: argument check: rank %d sent a %d-byte record", st.Source, st.Len)
		}
		// out may still be in flight: the next round uses a fresh one.
		if err := comm.WaitAll(ctx, sends[len(sends)-1]); err != nil {
			return err
		}
		mergeRecord(rec, in)
	}
	return nil
}

// MismatchError reports that the ranks of a communicator called a
// collective with arguments that disagree. Every rank of the call gets an
// equal error.
//
// With the default Options.Check (CheckAsync) a disagreement may be found
// after the call returned on some ranks; then the communicator's later
// collective calls fail with the same error, naming the call by its
// number (Call, counted from 0 per communicator).
type MismatchError struct {
	Op    string // the operation this rank called
	Call  uint64 // the call's number on the communicator
	Ranks [2]int // two ranks that disagree
	a, b  signature
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("collectives: %s (call %d on this communicator): ranks disagree: %s", e.Op, e.Call, describeDiff(e.Ranks, e.a, e.b))
}

func describeDiff(ranks [2]int, a, b signature) string {
	var d []string
	f := func(what string, x, y any) {
		d = append(d, fmt.Sprintf("rank %d gave %s %v, rank %d gave %v", ranks[0], what, x, ranks[1], y))
	}
	if a.kind != b.kind {
		f("operation", kindName(a.kind), kindName(b.kind))
		return strings.Join(d, "; ")
	}
	if a.root != b.root {
		f("root", a.root, b.root)
	}
	if a.elem != b.elem || a.esize != b.esize {
		f("element type", elemName(a.elem, a.esize), elemName(b.elem, b.esize))
	}
	if a.count != b.count {
		f("count", a.count, b.count)
	}
	if a.op != b.op {
		f("reduction", opName(a.op), opName(b.op))
	}
	if a.alg != b.alg {
		f("algorithm", Algorithm(a.alg), Algorithm(b.alg))
	}
	if a.seg != b.seg {
		f("segment size", a.seg, b.seg)
	}
	if a.vdigest != b.vdigest {
		d = append(d, fmt.Sprintf("ranks %d and %d gave different counts arrays", ranks[0], ranks[1]))
	}
	return strings.Join(d, "; ")
}

// digestInts hashes a counts array that every rank must agree on.
func digestInts(xs []int) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, x := range xs {
		binary.LittleEndian.PutUint64(b[:], uint64(x))
		h.Write(b[:])
	}
	return h.Sum64() | 1
}
