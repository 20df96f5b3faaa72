package launcher

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"

	"github.com/pkg/sftp"
)

// staged is a local file to copy into hosts' caches.
type staged struct {
	local string // path here
	name  string // base name on the host
	sum   string // sha256, hex
	size  int64
}

func newStaged(local string) (*staged, error) {
	sum, n, err := fileSum(local)
	if err != nil {
		return nil, err
	}
	return &staged{local: local, name: path.Base(local), sum: sum, size: n}, nil
}

// cachePath is where s lives on a host whose home is home: content
// addressed, so a changed binary gets a new path and an unchanged one is
// found again.
func (s *staged) cachePath(home string) string {
	return path.Join(home, ".cache", "spmd", "bin", s.sum, s.name)
}

// stageTo copies s into the host's cache: to a temporary file, made
// executable, then renamed into place, so a copy in the cache is always
// whole (the proxy checks its hash after staging). progress, if not nil,
// is told of bytes as they go.
func (s *staged) stageTo(sc *sftp.Client, home string, progress func(int64)) (string, bool, error) {
	final := s.cachePath(home)
	dir := path.Dir(final)
	if err := sc.MkdirAll(dir); err != nil {
		return "", false, fmt.Errorf("making %s: %w", dir, err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := path.Join(dir, "."+s.name+".tmp-"+hex.EncodeToString(rnd[:]))
	src, err := os.Open(s.local)
	if err != nil {
		return "", false, err
	}
	defer src.Close()
	dst, err := sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return "", false, fmt.Errorf("creating %s: %w", tmp, err)
	}
	var r io.Reader = src
	if progress != nil {
		r = &countingReader{r: src, f: progress}
	}
	// Many writes in flight: one at a time would take a round trip per
	// 32 KiB, minutes for a binary across an ocean.
	_, err = dst.ReadFromWithConcurrency(r, 64)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = sc.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = sc.PosixRename(tmp, final)
	}
	if err != nil {
		sc.Remove(tmp)
		return "", false, fmt.Errorf("copying %s to %s: %w", s.local, final, err)
	}
	return final, true, nil
}

// fileSum returns the sha256 of a file, hex, and its size.
func fileSum(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type countingReader struct {
	r io.Reader
	f func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.f(int64(n))
	}
	return n, err
}

// platformOf maps `uname -sm` to Go's GOOS/GOARCH.
func platformOf(uname string) string {
	f := strings.Fields(uname)
	if len(f) != 2 {
		return "unknown (" + strings.TrimSpace(uname) + ")"
	}
	goos := strings.ToLower(f[0])
	arch := map[string]string{"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
		"i386": "386", "i686": "386", "armv7l": "arm", "armv6l": "arm", "riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x"}[f[1]]
	if arch == "" {
		arch = f[1]
	}
	return goos + "/" + arch
}

// checkPlatform refuses a host whose OS or architecture differs from the
// binaries we would run there.
func checkPlatform(uname string) error {
	want := runtime.GOOS + "/" + runtime.GOARCH
	if got := platformOf(uname); got != want {
		return fmt.Errorf("the host is %s but spmdrun and the program here are built for %s; build both for %s (GOOS/GOARCH) and run spmdrun from such a machine", got, want, got)
	}
	return nil
}
