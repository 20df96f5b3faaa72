package launcher

import (
	"bufio"
	"io"
	"sync"
)

// lineWriter serializes whole lines from many ranks onto one writer, so
// that no line is ever split or interleaved with another.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) writeLine(b []byte) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_, _ = lw.w.Write(b)
}

// forward copies r to lw one line at a time, each prefixed by prefix
// (which may be empty). A last line without a newline gets one when a
// prefix is used, so the next rank's line starts on a line of its own.
func forward(r io.Reader, lw *lineWriter, prefix string) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			line = append(line, frag...)
			continue
		}
		if len(frag) > 0 || len(line) > 0 {
			out := make([]byte, 0, len(prefix)+len(line)+len(frag)+1)
			out = append(out, prefix...)
			out = append(out, line...)
			out = append(out, frag...)
			if prefix != "" && out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
			lw.writeLine(out)
			line = line[:0]
		}
		if err != nil {
			return
		}
	}
}
