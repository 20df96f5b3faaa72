// Command wordcount counts the words of text files: every rank counts the
// files that fall to it (file i to rank i mod p), sends each word's
// partial count to the rank its hash picks (one Alltoall of the partial
// counts), adds what it receives, and rank 0 gathers the totals, prints
// the most frequent words and checks every count against a count made
// alone.
//
//	go run ./examples/wordcount FILE...
//	spmdrun -np 4 ./examples/wordcount docs/*.md README.md
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/examples/internal/clock"
)

// count adds the words of file to counts: runs of letters and digits,
// lower-cased.
func count(file string, counts map[string]int) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		for _, w := range strings.FieldsFunc(sc.Text(), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			counts[strings.ToLower(w)]++
		}
	}
	return sc.Err()
}

func owner(word string, p int) int {
	h := fnv.New32a()
	h.Write([]byte(word))
	return int(h.Sum32() % uint32(p))
}

func main() {
	top := flag.Int("top", 10, "words to print")
	flag.Parse()
	if err := run(flag.Args(), *top); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

func run(files []string, top int) error {
	ctx := context.Background()
	world, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer world.Close()
	if len(files) == 0 {
		return fmt.Errorf("give text files to count: spmdrun -np 4 ./examples/wordcount docs/*.md")
	}
	p, me := world.Size(), world.Rank()
	var clk clock.Clock
	partial := make([]map[string]int, p)
	for i := range partial {
		partial[i] = map[string]int{}
	}
	var readErr error
	clk.Work(func() {
		mine := map[string]int{}
		for i := me; i < len(files); i += p {
			if err := count(files[i], mine); err != nil {
				readErr = err
				return
			}
		}
		for w, n := range mine {
			partial[owner(w, p)][w] += n
		}
	})
	if readErr != nil {
		return readErr
	}
	var got []map[string]int
	if err := clk.Communicate(func() (err error) { got, err = collectives.AlltoallValues(ctx, world, partial); return }); err != nil {
		return err
	}
	owned := map[string]int{}
	clk.Work(func() {
		for _, m := range got {
			for w, n := range m {
				owned[w] += n
			}
		}
	})
	var all []map[string]int
	if err := clk.Communicate(func() (err error) { all, err = collectives.GatherValues(ctx, world, owned, 0); return }); err != nil {
		return err
	}
	if err := clk.Report(ctx, world, os.Stdout, "wordcount"); err != nil {
		return err
	}
	if me != 0 {
		return nil
	}
	total := map[string]int{}
	words := 0
	for _, m := range all {
		for w, n := range m {
			if _, dup := total[w]; dup {
				return fmt.Errorf("word %q counted by two ranks", w)
			}
			total[w] = n
			words += n
		}
	}
	keys := slices.SortedFunc(maps.Keys(total), func(a, b string) int {
		if total[a] != total[b] {
			return total[b] - total[a]
		}
		return strings.Compare(a, b)
	})
	fmt.Printf("wordcount: %d files, %d words, %d distinct, on %d ranks\n", len(files), words, len(total), p)
	for _, w := range keys[:min(top, len(keys))] {
		fmt.Printf("  %8d  %s\n", total[w], w)
	}
	alone := map[string]int{}
	for _, f := range files {
		if err := count(f, alone); err != nil {
			return err
		}
	}
	if !maps.Equal(alone, total) {
		return fmt.Errorf("the counts differ from a count made alone (%d distinct words there)", len(alone))
	}
	fmt.Println("check: ok (every count equals a count made alone)")
	return nil
}
