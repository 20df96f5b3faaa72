package collectives

// segments cuts the parts of a buffer (off[j]..off[j+1], as blocks
// returns them) into pieces for a pipelined algorithm of up to three
// steps: Options.SegmentSize bytes each (a multiple of esize; the last of
// a part shorter), larger where a part would need more than maxSegs, so
// that every (step, piece) has its own tag.
type segments struct {
	off []int
	seg int
}

// maxSegs is how many pieces a part may have: three steps' tags fit.
const maxSegs = maxStep / 3

func newSegments(off []int, segment, esize int) segments {
	seg := max(segment/esize, 1) * esize
	for j := 0; j+1 < len(off); j++ {
		if n := off[j+1] - off[j]; (n+seg-1)/seg > maxSegs {
			per := (n + maxSegs - 1) / maxSegs
			seg = (per + esize - 1) / esize * esize
		}
	}
	return segments{off: off, seg: seg}
}

// count is how many pieces part j has.
func (g segments) count(j int) int { return (g.off[j+1] - g.off[j] + g.seg - 1) / g.seg }

// piece is the s-th piece of part j of b.
func (g segments) piece(b []byte, j, s int) []byte {
	lo := g.off[j] + s*g.seg
	return b[lo:min(lo+g.seg, g.off[j+1])]
}

// step is the tag step of piece s in phase 0, 1 or 2.
func step3(phase, s int) int { return phase*maxSegs + s }
