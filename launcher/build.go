package launcher

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// IsPackageDir reports whether path is a directory of Go source, which
// spmdrun builds before running.
func IsPackageDir(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	m, _ := filepath.Glob(filepath.Join(path, "*.go"))
	return len(m) > 0
}

// Build compiles the Go package in dir into a binary inside outDir and
// returns the binary's path. Compiler output is returned in the error.
func Build(ctx context.Context, dir, outDir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(outDir, filepath.Base(abs))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = abs
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("launcher: building %s: %v\n%s", dir, err, out.Bytes())
	}
	return bin, nil
}
