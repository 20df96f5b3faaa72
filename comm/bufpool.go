package comm

import (
	"math/bits"
	"sync"
)

// Buffers for messages that arrive before their receive is posted come
// from pools by power-of-two size and go back once copied into the
// receive, so that a loop of large messages that run ahead of their
// receives (a broadcast root, a ring neighbour) does not allocate, zero
// and collect a buffer per message.

const minPooledMsg = 64 << 10

var msgPools [48]sync.Pool // class c holds *[]byte of cap 2^c

func getMsgBuf(n int) []byte {
	if n < minPooledMsg {
		return make([]byte, n)
	}
	c := bits.Len(uint(n - 1))
	if p, ok := msgPools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<c)
}

func putMsgBuf(b []byte) {
	c := cap(b)
	if c < minPooledMsg || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	msgPools[bits.Len(uint(c-1))].Put(&b)
}
