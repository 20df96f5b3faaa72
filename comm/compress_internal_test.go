package comm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestDecompressRefuses(t *testing.T) {
	var c compressor
	plain := bytes.Repeat([]byte("abcdefgh"), 4096)
	good := c.compress(plain)
	if good == nil {
		t.Fatal("32 KiB of a repeated word did not compress")
	}
	if out, err := decompress(good, 1<<20); err != nil || !bytes.Equal(out, plain) {
		t.Fatalf("round trip: %v", err)
	}
	lie := bytes.Clone(good)
	binary.LittleEndian.PutUint64(lie, uint64(len(plain)+1))
	garbled := bytes.Clone(good)
	garbled[len(garbled)/2] ^= 0xff
	for name, in := range map[string][]byte{
		"short":               good[:5],
		"announces more":      lie,
		"above the cap":       good, // with a cap below its size
		"garbled":             garbled,
		"no frame after size": good[:8],
	} {
		max := uint64(1 << 20)
		if name == "above the cap" {
			max = uint64(len(plain) - 1)
		}
		if _, err := decompress(in, max); !errors.Is(err, errCompressed) {
			t.Errorf("%s: %v, want errCompressed", name, err)
		}
	}
}
