// Package commtest runs SPMD code inside one test: n ranks, one goroutine
// each, connected by comm.Local over loopback TCP.
package commtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
)

// Timeout bounds one Run unless the test's own deadline is sooner:
// 2 minutes, or SPMD_TEST_RUN_TIMEOUT (a duration), which CI's slower
// passes (race detector, encryption and compression together) raise.
var Timeout = runTimeout()

func runTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SPMD_TEST_RUN_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 2 * time.Minute
}

// Run starts n ranks and calls f on each in its own goroutine with that
// rank's world communicator. An error returned by any rank fails the test
// with the rank's number. Every communicator is closed afterwards.
func Run(t testing.TB, n int, f func(ctx context.Context, c *comm.Comm) error) {
	t.Helper()
	if err := RunErr(context.Background(), n, f); err != nil {
		t.Fatal(err)
	}
}

// RunConfig is Run with a configuration other than comm.DefaultConfig:
// region labels (Config.Regions), a warm-up size, timeouts.
func RunConfig(t testing.TB, n int, cfg comm.Config, f func(ctx context.Context, c *comm.Comm) error) {
	t.Helper()
	if err := runErr(context.Background(), n, cfg, f); err != nil {
		t.Fatal(err)
	}
}

// RunErr is Run without a testing.TB: it returns every rank's error,
// joined, in rank order.
func RunErr(ctx context.Context, n int, f func(ctx context.Context, c *comm.Comm) error) error {
	return runErr(ctx, n, comm.DefaultConfig(), f)
}

func runErr(ctx context.Context, n int, cfg comm.Config, f func(ctx context.Context, c *comm.Comm) error) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := fromEnv(&cfg); err != nil {
		return err
	}
	comms, err := comm.Local(ctx, n, cfg)
	if err != nil {
		return err
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[r] = fmt.Errorf("panic: %v", p)
				}
				if cerr := c.Close(); errs[r] == nil && cerr != nil {
					errs[r] = cerr
				}
			}()
			errs[r] = f(ctx, c)
		}()
	}
	wg.Wait()
	var all []error
	for r, err := range errs {
		if err != nil {
			all = append(all, fmt.Errorf("rank %d of %d: %w", r, n, err))
		}
	}
	return errors.Join(all...)
}

// Start starts n ranks in this process and returns their world
// communicators, for benchmarks and tests that drive the ranks
// themselves. They are closed (all at once, so that every goodbye is
// answered) when tb's test ends.
func Start(tb testing.TB, n int) []*comm.Comm {
	tb.Helper()
	cfg := comm.DefaultConfig()
	if err := fromEnv(&cfg); err != nil {
		tb.Fatal(err)
	}
	comms, err := comm.Local(context.Background(), n, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		var wg sync.WaitGroup
		for _, c := range comms {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
		wg.Wait()
	})
	return comms
}

// fromEnv applies the SPMD_* variables comm.Init reads (Config.ApplyEnv)
// to every job this package starts, so that a whole test suite can run,
// say, over encrypted and compressing connections (CI runs comm's and
// collectives' with SPMD_ENCRYPT=all SPMD_COMPRESS=all).
func fromEnv(cfg *comm.Config) error {
	if err := cfg.ApplyEnv(); err != nil {
		return fmt.Errorf("commtest: %w", err)
	}
	return nil
}
