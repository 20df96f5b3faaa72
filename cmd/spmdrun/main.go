// Command spmdrun starts an SPMD program on several ranks.
//
//	spmdrun -np 4 ./prog [args]          # four ranks on this machine
//	spmdrun -np 4 ./examples/sumprimes   # a Go package directory is built first
//
// See the launcher package for exit statuses and signal handling.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spmd-go/spmd/launcher"
)

type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, ",") }

func (e *envFlag) Set(v string) error {
	if v == "" || strings.HasPrefix(v, "=") {
		return fmt.Errorf("want NAME or NAME=value")
	}
	if !strings.Contains(v, "=") {
		v = v + "=" + os.Getenv(v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("spmdrun", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: spmdrun -np N [options] program [args...]\n\n")
		fs.PrintDefaults()
	}
	var cfg launcher.Config
	var env envFlag
	var timeout float64
	fs.IntVar(&cfg.NP, "np", 1, "number of ranks")
	fs.IntVar(&cfg.NP, "n", 1, "same as -np")
	fs.Var(&env, "x", "export `NAME[=value]` to every rank (repeatable); NAME alone copies this shell's value")
	fs.BoolVar(&cfg.TagOutput, "tag-output", false, "prefix every output line with [rank]")
	fs.Float64Var(&timeout, "timeout", 0, "end the job after `S` seconds (exit status 124)")
	fs.DurationVar(&cfg.Grace, "grace", launcher.DefaultGrace, "time between SIGTERM and SIGKILL when ending ranks")
	fs.StringVar(&cfg.ListenOn, "listen", "127.0.0.1", "address ranks listen on for the mesh")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg.Program = fs.Arg(0)
	cfg.Args = fs.Args()[1:]
	cfg.Env = env
	cfg.Timeout = time.Duration(timeout * float64(time.Second))
	cfg.Stdin = os.Stdin
	cfg.HandleSignals = true
	code, err := launcher.Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spmdrun: %v\n", err)
	}
	return code
}
