package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Seven files over three ranks, with words whose counts are known.
func TestWordcount(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 7 {
		f := filepath.Join(dir, fmt.Sprintf("f%d.txt", i))
		text := strings.Repeat("alpha Beta, gamma! ", i+1) + "delta-delta\n" + strings.Repeat("épsilon ", 2)
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, err := exec.Command("go", append([]string{"run", "../../cmd/spmdrun", "-np", "3", "."}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// alpha, beta, gamma: 1+2+...+7 = 28 each; delta 14; épsilon 14.
	for _, want := range []string{"wordcount: 7 files, 112 words, 5 distinct, on 3 ranks", "      28  alpha", "      14  delta", "      14  épsilon", "check: ok", "wordcount: communication "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
