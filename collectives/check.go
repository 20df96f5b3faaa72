package collectives

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
)

// The argument check. Every collective call compares what each rank passed
// (operation, root, element type and count, reduction, algorithm, segment
// size, and for the v-variants a digest of the counts that every rank must
// agree on). The ranks compute, by dissemination, the smallest and the
// largest signature over all ranks with the rank that gave each: after
// ceil(log2 p) rounds every rank holds the same pair, and they differ
// exactly when some ranks disagree. The check runs beside the algorithm
// (checker.go), so it adds small messages but no waiting; see
// Options.Check for when a rank learns the verdict.

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
