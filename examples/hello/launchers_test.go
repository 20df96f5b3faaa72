package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/labtest"
)

// buildHello builds this program once per test.
func buildHello(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a port nobody listens on now.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func secretFile(t *testing.T, secret string) string {
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// runRanks starts n processes of bin, rank r with env(r), and returns
// each one's combined output and error.
func runRanks(t *testing.T, bin string, n int, env func(r int) []string) ([]string, []error) {
	outs, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for r := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = append(os.Environ(), env(r)...)
			out, err := cmd.CombinedOutput()
			outs[r], errs[r] = string(out), err
		}()
	}
	wg.Wait()
	return outs, errs
}

// The variables of each launcher, set by hand (Slurm's srun cannot run
// on this machine: see docs/launch.md), with the rendezvous and secret
// given as a user would.
func TestForeignLaunchersByHand(t *testing.T) {
	bin := buildHello(t)
	const n = 3
	flavors := map[string]func(r int) []string{
		"Open MPI": func(r int) []string {
			return []string{fmt.Sprintf("OMPI_COMM_WORLD_RANK=%d", r), fmt.Sprintf("OMPI_COMM_WORLD_SIZE=%d", n),
				fmt.Sprintf("OMPI_COMM_WORLD_LOCAL_RANK=%d", r), fmt.Sprintf("OMPI_COMM_WORLD_LOCAL_SIZE=%d", n)}
		},
		"PMI": func(r int) []string { return []string{fmt.Sprintf("PMI_RANK=%d", r), fmt.Sprintf("PMI_SIZE=%d", n)} },
		"Slurm": func(r int) []string {
			return []string{fmt.Sprintf("SLURM_PROCID=%d", r), fmt.Sprintf("SLURM_NTASKS=%d", n), fmt.Sprintf("SLURM_LOCALID=%d", r)}
		},
		"torchrun": func(r int) []string {
			return []string{fmt.Sprintf("RANK=%d", r), fmt.Sprintf("WORLD_SIZE=%d", n), fmt.Sprintf("LOCAL_RANK=%d", r), "MASTER_ADDR=127.0.0.1"}
		},
	}
	secret := secretFile(t, "a secret of this test, 32 bytes.")
	for name, vars := range flavors {
		t.Run(name, func(t *testing.T) {
			rv := fmt.Sprintf("SPMD_RENDEZVOUS=127.0.0.1:%d", freePort(t))
			if name == "torchrun" {
				rv = "SPMD_RENDEZVOUS=" // MASTER_ADDR and the default port
			}
			outs, errs := runRanks(t, bin, n, func(r int) []string {
				return append(vars(r), rv, "SPMD_SECRET_FILE="+secret, fmt.Sprintf("SPMD_REGION=r%d", r%2))
			})
			for r := range n {
				if errs[r] != nil {
					t.Fatalf("rank %d: %v\n%s", r, errs[r], outs[r])
				}
			}
			for r := range n {
				want := fmt.Sprintf("hello from rank %d of %d: host ", r, n)
				if !strings.Contains(outs[0], want) || !strings.Contains(outs[0], fmt.Sprintf("region r%d, local rank %d\n", r%2, r)) {
					t.Errorf("rank 0 printed no line for rank %d:\n%s", r, outs[0])
				}
			}
		})
	}

	// A connection that says nothing (a scanner) holds up nobody: the
	// ranks that come after it are proven at once, not after its 10 s.
	t.Run("silent connection", func(t *testing.T) {
		port := freePort(t)
		env := func(r int) []string {
			return append(os.Environ(), fmt.Sprintf("PMI_RANK=%d", r), "PMI_SIZE=3", fmt.Sprintf("SPMD_RENDEZVOUS=127.0.0.1:%d", port), "SPMD_SECRET_FILE="+secret)
		}
		rank0 := exec.Command(bin)
		rank0.Env = env(0)
		var out0 strings.Builder
		rank0.Stdout, rank0.Stderr = &out0, &out0
		if err := rank0.Start(); err != nil {
			t.Fatal(err)
		}
		defer rank0.Process.Kill()
		var silent net.Conn
		for end := time.Now().Add(10 * time.Second); silent == nil && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			silent, _ = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		}
		if silent == nil {
			t.Fatal("rank 0 never listened")
		}
		defer silent.Close()
		start := time.Now()
		outs, errs := runRanks(t, bin, 2, func(r int) []string { return env(r + 1)[len(os.Environ()):] })
		err := rank0.Wait()
		took := time.Since(start)
		if err != nil || errs[0] != nil || errs[1] != nil || !strings.Contains(out0.String(), "hello from rank 2 of 3") {
			t.Fatalf("rank 0: %v %s; rank 1: %v %s; rank 2: %v %s", err, out0.String(), errs[0], outs[0], errs[1], outs[1])
		}
		if took > 5*time.Second {
			t.Errorf("the job took %v behind a silent connection", took)
		}
	})

	// A rank with another secret is refused by rank 0 and fails itself;
	// a missing secret and a missing rendezvous are named.
	t.Run("refusals", func(t *testing.T) {
		other := secretFile(t, "another secret, also 32 bytes...")
		rv := fmt.Sprintf("SPMD_RENDEZVOUS=127.0.0.1:%d", freePort(t))
		outs, errs := runRanks(t, bin, 2, func(r int) []string {
			s := secret
			if r == 1 {
				s = other
			}
			return []string{fmt.Sprintf("PMI_RANK=%d", r), "PMI_SIZE=2", rv, "SPMD_SECRET_FILE=" + s, "SPMD_CONNECT_TIMEOUT=3s"}
		})
		if errs[1] == nil || !strings.Contains(outs[1], "without a table (different job secret?)") {
			t.Errorf("rank 1 with another secret: %v\n%s", errs[1], outs[1])
		}
		if errs[0] == nil {
			t.Errorf("rank 0 went on without rank 1:\n%s", outs[0])
		}
		for _, c := range []struct {
			env  []string
			want string
		}{
			{[]string{"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2", "SPMD_RENDEZVOUS=127.0.0.1:1"}, "needs its secret: SPMD_SECRET_FILE"},
			{[]string{"OMPI_COMM_WORLD_RANK=1", "OMPI_COMM_WORLD_SIZE=2", "SPMD_SECRET_FILE=" + secret}, "set SPMD_RENDEZVOUS=host:port"},
			{[]string{"OMPI_COMM_WORLD_RANK=2", "OMPI_COMM_WORLD_SIZE=2"}, "OMPI_COMM_WORLD_RANK=2 is outside the job"},
		} {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), c.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf("%v: %v %q, want an error containing %q", c.env, err, out, c.want)
			}
		}
	})
}

// Debian's Open MPI mpirun starts the Go program; spmd takes over from
// its variables.
func TestUnderMpirun(t *testing.T) {
	mpirun := labtest.NeedCommand(t, "mpirun", "openmpi-bin")
	bin := buildHello(t)
	secret := secretFile(t, "a secret of this test, 32 bytes.")
	rv := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "4",
		"-x", "SPMD_RENDEZVOUS="+rv, "-x", "SPMD_SECRET_FILE="+secret, bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	for r := range 4 {
		if want := fmt.Sprintf("hello from rank %d of 4: host ", r); !strings.Contains(string(out), want) || !strings.Contains(string(out), fmt.Sprintf("local rank %d\n", r)) {
			t.Errorf("no line for rank %d:\n%s", r, out)
		}
	}
}

// Debian's Slurm srun (one node: .ci/slurm-up starts it) starts the Go
// program; spmd joins from SLURM_* and meets on this host, with no
// SPMD_RENDEZVOUS. A multi-node Slurm was not built here (docs/launch.md).
func TestUnderSrun(t *testing.T) {
	sinfo := labtest.NeedCommand(t, "sinfo", "slurm-client")
	if out, err := exec.Command(sinfo, "-h", "-o", "%t").Output(); err != nil || !strings.Contains(string(out), "idle") {
		if os.Getenv("SPMD_LAB_REQUIRED") != "" {
			t.Fatalf("no idle Slurm node (sinfo: %v %q); .ci/run starts one with .ci/slurm-up", err, out)
		}
		t.Skip("needs a running Slurm (as root: .ci/slurm-up)")
	}
	bin := buildHello(t)
	secret := secretFile(t, "a secret of this test, 32 bytes.")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "srun", "--overcommit", "-n", "3", "--export=ALL,SPMD_SECRET_FILE="+secret, bin).CombinedOutput()
	if err != nil {
		t.Fatalf("srun: %v\n%s", err, out)
	}
	for r := range 3 {
		if want := fmt.Sprintf("hello from rank %d of 3: host ", r); !strings.Contains(string(out), want) || !strings.Contains(string(out), fmt.Sprintf("local rank %d\n", r)) {
			t.Errorf("no line for rank %d:\n%s", r, out)
		}
	}
}
