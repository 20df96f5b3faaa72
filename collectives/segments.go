package collectives

import "github.com/spmd-go/spmd/topology"

// segments lays a buffer out for a pipelined algorithm: parts (off[j] to
// off[j+1], as blocks returns them), each cut into pieces of seg bytes,
// the last of a part shorter.
type segments struct {
	off []int
	seg int
}

// segBytes is the segment size of a pipeline that moves parts of up to
// part bytes through stages store-and-forward steps, in whole elements of
// esize: Options.SegmentSize when the caller gave one, else the cost
// model's choice (topology.Segment) at a rank's share of its host's
// bandwidth. Every rank computes the same: part, stages, the bandwidth
// and the ranks per host are the same on all.
func (k *call) segBytes(part, stages, esize int) int {
	seg := k.opts.SegmentSize
	if seg <= 0 {
		most, _ := k.hostShare()
		seg = topology.Segment(part, stages, k.net().BW/float64(most))
	}
	return max(seg/esize, 1) * esize
}

// maxSegs is how many pieces a part may have in a pipeline of up to six
// phases (step3): the phases' tags fit.
const maxSegs = maxStep / 6

// newSegments lays off out in pieces of seg bytes, larger (in whole
// esize elements) where a part would need more than maxSegs.
func newSegments(off []int, seg, esize int) segments {
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

// piece is the s-th piece of part j of b (empty past the part's end).
func (g segments) piece(b []byte, j, s int) []byte {
	lo := min(g.off[j]+s*g.seg, g.off[j+1])
	return b[lo:min(lo+g.seg, g.off[j+1])]
}

// step3 is the tag step of piece s in phase 0, 1, 2 (3: the second round
// of Lanes2; 4 and 5: the host steps of lanes_hosts.go).
func step3(phase, s int) int { return phase*maxSegs + s }
