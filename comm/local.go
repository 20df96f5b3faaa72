package comm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/spmd-go/spmd/internal/wire"
)

// Local starts a job of n ranks inside this process, connected over
// loopback TCP with the same handshake and transport as a real job, and
// returns the world communicator of each rank. It is meant for tests:
// run one goroutine per rank. Abort on any of them fails every rank's
// operations with an *AbortError instead of exiting. Close every returned
// Comm when done.
func Local(ctx context.Context, n int, cfg Config) ([]*Comm, error) {
	return localGated(ctx, n, cfg, nil)
}

// localGated is Local with localJob's gate, and a fresh job id and secret.
func localGated(ctx context.Context, n int, cfg Config, gate func(rank int, addrs []string)) ([]*Comm, error) {
	if n < 1 {
		return nil, fmt.Errorf("comm: Local: %d ranks", n)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var id [wire.JobIDSize]byte
	secret := make([]byte, 32)
	rand.Read(id[:])
	rand.Read(secret)
	return localJob(ctx, n, cfg, id, func(int) []byte { return secret }, gate)
}

// localJob builds an in-process job; secretOf lets tests give one rank a
// wrong secret, and gate (if not nil) is called by each rank, with every
// rank's address, before it builds its links, so that a test can hold one
// back while the others listen.
func localJob(ctx context.Context, n int, cfg Config, id [wire.JobIDSize]byte, secretOf func(rank int) []byte, gate func(rank int, addrs []string)) ([]*Comm, error) {
	worlds := make([]*world, n)
	addrs := make([]string, n)
	lns := make([]interface{ Close() error }, 0, n)
	if len(cfg.Regions) != 0 && len(cfg.Regions) != n {
		return nil, fmt.Errorf("comm: Local: %d region labels for %d ranks", len(cfg.Regions), n)
	}
	if len(cfg.Hosts) != 0 && len(cfg.Hosts) != n {
		return nil, fmt.Errorf("comm: Local: %d host names for %d ranks", len(cfg.Hosts), n)
	}
	for r := range worlds {
		worlds[r] = newWorld(cfg, r, n, id, secretOf(r))
		if len(cfg.Regions) == n {
			worlds[r].regions = cfg.Regions
		}
		if len(cfg.Hosts) == n {
			worlds[r].hosts = cfg.Hosts
			worlds[r].localRanks = localRanksOf(cfg.Hosts)
		}
		if n == 1 {
			addrs[r] = ""
			continue
		}
		ln, err := listen("127.0.0.1")
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
		addrs[r] = ln.Addr().String()
		worlds[r].pendingLn = ln
	}
	var once sync.Once
	abort := func(rank, code int) {
		once.Do(func() {
			err := &AbortError{Rank: rank, Code: code}
			for _, w := range worlds {
				w.abortLocal(err)
			}
		})
	}
	shrinks := &localShrinks{worlds: worlds}
	for _, w := range worlds {
		w.addrs = addrs
		w.abortHook = abort
		w.local = shrinks
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r, w := range worlds {
		if n == 1 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ln := w.pendingLn
			w.pendingLn = nil
			if gate != nil {
				gate(r, addrs)
			}
			errs[r] = w.connect(ctx, ln)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for r, w := range worlds {
			if errs[r] == nil {
				w.abortLocal(ErrClosed)
			}
		}
		return nil, err
	}
	comms := make([]*Comm, n)
	for r, w := range worlds {
		comms[r] = newComm(w, 0, seq(n), true)
	}
	return comms, nil
}
