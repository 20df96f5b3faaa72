package comm

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spmd-go/spmd/internal/control"
	"github.com/spmd-go/spmd/internal/wire"
)

// Joining a job started by another launcher. A program started by Open
// MPI's mpirun, Slurm's srun, an MPICH-style (PMI) launcher or a
// torchrun-style one learns its rank and the job's size from their
// variables (foreignVars); the ranks then meet at a rendezvous address:
// rank 0 listens there, every other rank connects, proves it knows the
// job's secret and says where its mesh listener is; rank 0 answers with
// the table of every rank's address, host and region (proving the secret
// too), and the mesh is built as under spmdrun.
//
// The secret comes from SPMD_SECRET_FILE (a file only its owner can read,
// holding at least 16 bytes; the first line is used) or SPMD_SECRET (a
// variable: visible to the user's own processes, so the file is better).
// The rendezvous address is SPMD_RENDEZVOUS (host:port); torchrun's
// MASTER_ADDR with port DefaultRendezvousPort also serves, and a job
// whose ranks all run on one host (by the launcher's local size) meets at
// 127.0.0.1 on that port. A rank's region is SPMD_REGION, if set.

// DefaultRendezvousPort is the port of the rendezvous when only a host is
// known.
const DefaultRendezvousPort = 29517

// foreignJob is what a foreign launcher's variables say.
type foreignJob struct {
	launcher           string // for messages: "Open MPI", "Slurm", ...
	rank, size         int
	localRank, localSz int // -1 when unknown
	rendezvous         string
}

// foreignVars reads the first launcher's variables found; ok is false when
// none is set.
func foreignVars(getenv func(string) string) (foreignJob, bool, error) {
	sets := []struct {
		name                      string
		rank, size, local, localN string
	}{
		{"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
		{"PMI", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
		{"Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_STEP_TASKS_PER_NODE"},
		{"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"},
	}
	for _, s := range sets {
		rs, ss := getenv(s.rank), getenv(s.size)
		if rs == "" || ss == "" {
			continue
		}
		j := foreignJob{launcher: s.name, localRank: -1, localSz: -1}
		var err error
		if j.rank, err = strconv.Atoi(rs); err != nil {
			return j, true, fmt.Errorf("comm: %s=%q (from %s) is not a rank", s.rank, rs, s.name)
		}
		if j.size, err = strconv.Atoi(ss); err != nil || j.size < 1 {
			return j, true, fmt.Errorf("comm: %s=%q (from %s) is not a job size", s.size, ss, s.name)
		}
		if j.rank < 0 || j.rank >= j.size {
			return j, true, fmt.Errorf("comm: %s=%d is outside the job of %s=%d (from %s)", s.rank, j.rank, s.size, j.size, s.name)
		}
		if n, err := strconv.Atoi(getenv(s.local)); err == nil {
			j.localRank = n
		}
		if n, err := strconv.Atoi(getenv(s.localN)); err == nil { // Slurm's may be "2(x3)": then unknown
			j.localSz = n
		}
		j.rendezvous = getenv("SPMD_RENDEZVOUS")
		if j.rendezvous == "" {
			if h := firstSlurmHost(getenv("SLURM_STEP_NODELIST")); s.name == "Slurm" && h != "" && getenv("SLURM_STEP_NUM_NODES") != "1" {
				// Block distribution (srun's default) puts rank 0 on the
				// first node.
				j.rendezvous = net.JoinHostPort(h, strconv.Itoa(DefaultRendezvousPort))
			} else if s.name == "Slurm" && getenv("SLURM_STEP_NUM_NODES") == "1" {
				j.rendezvous = net.JoinHostPort("127.0.0.1", strconv.Itoa(DefaultRendezvousPort))
			} else if h := getenv("MASTER_ADDR"); h != "" {
				j.rendezvous = net.JoinHostPort(h, strconv.Itoa(DefaultRendezvousPort))
			} else if j.localSz == j.size {
				j.rendezvous = net.JoinHostPort("127.0.0.1", strconv.Itoa(DefaultRendezvousPort))
			} else {
				return j, true, fmt.Errorf("comm: started by %s as rank %d of %d on several hosts: set SPMD_RENDEZVOUS=host:port to rank 0's host and a free port (mpirun -x SPMD_RENDEZVOUS=...)", s.name, j.rank, j.size)
			}
		}
		if _, _, err := net.SplitHostPort(j.rendezvous); err != nil {
			return j, true, fmt.Errorf("comm: SPMD_RENDEZVOUS=%q: want host:port", j.rendezvous)
		}
		return j, true, nil
	}
	return foreignJob{}, false, nil
}

// firstSlurmHost returns the first host of a Slurm host list such as
// "node[07-09,12],gpu1" (node07), or "".
func firstSlurmHost(list string) string {
	first := list
	if i := strings.IndexAny(list, ",["); i >= 0 && list[i] == ',' {
		first = list[:i]
	} else if i >= 0 { // prefix[range...]rest
		end := strings.IndexByte(list[i:], ']')
		if end < 0 {
			return ""
		}
		r := list[i+1 : i+end]
		r, _, _ = strings.Cut(r, ",")
		r, _, _ = strings.Cut(r, "-")
		first = list[:i] + r
	}
	return strings.TrimSpace(first)
}

// foreignSecret reads the job's secret.
func foreignSecret(getenv func(string) string) ([]byte, error) {
	if path := getenv("SPMD_SECRET_FILE"); path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("comm: SPMD_SECRET_FILE: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("comm: SPMD_SECRET_FILE %s: others can read it (mode %v); chmod 600 it", path, fi.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("comm: SPMD_SECRET_FILE: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if len(strings.TrimSpace(line)) < 16 {
			return nil, fmt.Errorf("comm: SPMD_SECRET_FILE %s: its first line has under 16 bytes (make one: head -c 32 /dev/urandom | base64 > %s)", path, path)
		}
		return []byte(strings.TrimSpace(line)), nil
	}
	if s := getenv("SPMD_SECRET"); s != "" {
		if len(s) < 16 {
			return nil, errors.New("comm: SPMD_SECRET has under 16 bytes")
		}
		return []byte(s), nil
	}
	return nil, errors.New("comm: a job started by another launcher needs its secret: SPMD_SECRET_FILE=FILE (mode 600, 16 bytes or more) or SPMD_SECRET, the same for every rank")
}

// rendezvous MACs: rank 0 proves the secret over each rank's nonce and
// the table; a rank proves it over rank 0's nonce and its own message.
func rvMAC(secret []byte, label string, nonce []byte, body string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("spmd-v1 rendezvous " + label + "\x00"))
	m.Write(nonce)
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// joinForeign builds the world of a job started by another launcher.
func joinForeign(ctx context.Context, cfg Config, j foreignJob, secret []byte) (*Comm, error) {
	if j.localSz > runtime.NumCPU() {
		cfg.SpinYield = true
	}
	idSum := sha256.Sum256(append(append([]byte("spmd job id\x00"), secret...), j.rendezvous+"/"+strconv.Itoa(j.size)...))
	var id [wire.JobIDSize]byte
	copy(id[:], idSum[:])
	w := newWorld(cfg, j.rank, j.size, id, secret)
	if j.size == 1 {
		return newComm(w, 0, []int{0}, true), nil
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	region := os.Getenv("SPMD_REGION")
	var table control.Msg
	var ln *net.TCPListener
	var err error
	if j.rank == 0 {
		ln, table, err = rendezvousServe(ctx, w, j, region)
	} else {
		ln, table, err = rendezvousJoin(ctx, w, j, region)
	}
	if err != nil {
		return nil, fmt.Errorf("comm: rank %d of %d (started by %s), rendezvous at %s: %w", j.rank, j.size, j.launcher, j.rendezvous, err)
	}
	w.setTable(table)
	if err := w.connect(ctx, ln); err != nil {
		return nil, err
	}
	c := newComm(w, 0, seq(j.size), true)
	if err := w.learnNetwork(ctx, c, cfg.InferRegions); err != nil {
		_ = w.close()
		return nil, err
	}
	return c, nil
}

// rendezvousServe is rank 0's side: listen at the rendezvous, take every
// other rank's proven address, send every rank the proven table.
func rendezvousServe(ctx context.Context, w *world, j foreignJob, region string) (*net.TCPListener, control.Msg, error) {
	rv, err := net.Listen("tcp", j.rendezvous)
	if err != nil {
		return nil, control.Msg{}, fmt.Errorf("listening: %w", err)
	}
	defer rv.Close()
	stop := context.AfterFunc(ctx, func() { rv.Close() })
	defer stop()
	rvHost, _, _ := net.SplitHostPort(rv.Addr().String())
	ln, err := listen(rvHost)
	if err != nil {
		return nil, control.Msg{}, err
	}
	addrs := make([]string, j.size)
	hosts := make([]string, j.size)
	regions := make([]string, j.size)
	addrs[0], hosts[0], regions[0] = ln.Addr().String(), rvHost, region
	type joined struct {
		conn   *control.Conn
		nonce  []byte
		remote string
	}
	conns := make([]joined, j.size)
	fail := func(err error) (*net.TCPListener, control.Msg, error) {
		ln.Close()
		for _, c := range conns {
			if c.conn != nil {
				c.conn.Close()
			}
		}
		return nil, control.Msg{}, err
	}
	// Each connection proves itself in its own goroutine, so a slow or
	// silent one (a scanner) holds up nobody; at most maxPending at once.
	type proven struct {
		cc     *control.Conn
		m      control.Msg
		remote string
	}
	results := make(chan proven)
	acceptErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		slots := make(chan struct{}, maxPending(j.size, 1))
		for {
			c, err := rv.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			select {
			case slots <- struct{}{}:
			default:
				c.Close() // flooded: the job's own ranks retry
				continue
			}
			go func() {
				defer func() { <-slots }()
				c.SetDeadline(time.Now().Add(w.cfg.HandshakeTimeout))
				cc := control.NewConn(c)
				nonce := make([]byte, 32)
				rand.Read(nonce)
				remote := c.RemoteAddr().String()
				if err := cc.Send(control.Msg{Type: "challenge", Nonce: nonce}); err != nil {
					cc.Close()
					return
				}
				m, err := cc.Recv()
				switch {
				case err != nil:
					w.log.Warn("comm: rendezvous: a connection said nothing", "remote", remote, "err", err)
				case !hmac.Equal([]byte(m.MAC), []byte(rvMAC(w.secret, "rank", nonce, rankBody(m)))):
					w.log.Warn("comm: rendezvous: refused a rank that does not know the job secret", "remote", remote, "claimed rank", m.Rank)
				case m.Size != j.size || m.Rank < 1 || m.Rank >= j.size:
					w.log.Warn("comm: rendezvous: refused a rank of another job", "remote", remote, "rank", m.Rank, "size", m.Size)
				default:
					c.SetDeadline(time.Time{}) // it waits for the others now
					select {
					case results <- proven{cc, m, remote}:
						return
					case <-done:
					}
				}
				cc.Close()
			}()
		}
	}()
	for got := 1; got < j.size; {
		select {
		case p := <-results:
			if conns[p.m.Rank].conn != nil {
				p.cc.Close()
				return fail(fmt.Errorf("rank %d came twice (from %s and %s): two jobs with one rendezvous and secret?", p.m.Rank, conns[p.m.Rank].remote, p.remote))
			}
			conns[p.m.Rank] = joined{p.cc, p.m.Nonce, p.remote}
			addrs[p.m.Rank], hosts[p.m.Rank], regions[p.m.Rank] = p.m.Addr, p.m.Host, p.m.Region
			got++
		case err := <-acceptErr:
			missing := []int{}
			for r := 1; r < j.size; r++ {
				if conns[r].conn == nil {
					missing = append(missing, r)
				}
			}
			return fail(fmt.Errorf("ranks %v never came (%v)", missing, err))
		}
	}
	table := control.Msg{Type: control.TypeTable, Addrs: addrs, Hosts: hosts, Regions: regions}
	if strings.Join(regions, "") == "" {
		table.Regions = nil
	}
	table.LocalRanks = localRanksOf(hosts)
	for r := 1; r < j.size; r++ {
		t := table
		t.MAC = rvMAC(w.secret, "table", conns[r].nonce, tableBody(table))
		if err := conns[r].conn.Send(t); err != nil {
			return fail(fmt.Errorf("sending the table to rank %d: %w", r, err))
		}
	}
	for _, c := range conns {
		if c.conn != nil {
			c.conn.Close()
		}
	}
	return ln, table, nil
}

// rendezvousJoin is the side of every other rank.
func rendezvousJoin(ctx context.Context, w *world, j foreignJob, region string) (*net.TCPListener, control.Msg, error) {
	var d net.Dialer
	var c net.Conn
	var err error
	for backoff := 20 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		if c, err = d.DialContext(ctx, "tcp", j.rendezvous); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, control.Msg{}, fmt.Errorf("rank 0 never listened: %w", err)
		case <-time.After(backoff):
		}
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	// Listen where rank 0 reached us: the interface others reach too.
	me, _, _ := net.SplitHostPort(c.LocalAddr().String())
	ln, err := listen(me)
	if err != nil {
		return nil, control.Msg{}, err
	}
	cc := control.NewConn(c)
	ch, err := cc.Recv()
	if err != nil || ch.Type != "challenge" || len(ch.Nonce) != 32 {
		ln.Close()
		return nil, control.Msg{}, fmt.Errorf("rank 0 sent no challenge: %v", err)
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	m := control.Msg{Type: control.TypeAddr, Rank: j.rank, Size: j.size, Addr: ln.Addr().String(), Host: me, Region: region, Nonce: nonce}
	m.MAC = rvMAC(w.secret, "rank", ch.Nonce, rankBody(m))
	if err := cc.Send(m); err != nil {
		ln.Close()
		return nil, control.Msg{}, err
	}
	t, err := cc.Recv()
	if err != nil {
		ln.Close()
		return nil, control.Msg{}, fmt.Errorf("rank 0 closed the rendezvous without a table (different job secret?): %v", err)
	}
	if t.Type != control.TypeTable || len(t.Addrs) != j.size || !hmac.Equal([]byte(t.MAC), []byte(rvMAC(w.secret, "table", nonce, tableBody(t)))) {
		ln.Close()
		return nil, control.Msg{}, errors.New("rank 0's table is not proven with the job secret")
	}
	return ln, t, nil
}

func rankBody(m control.Msg) string {
	return fmt.Sprintf("%d|%d|%q|%q|%q|%x", m.Rank, m.Size, m.Addr, m.Host, m.Region, m.Nonce)
}

func tableBody(t control.Msg) string {
	return fmt.Sprintf("%q|%q|%q|%v", t.Addrs, t.Hosts, t.Regions, t.LocalRanks)
}

// localRanksOf numbers the ranks of each host.
func localRanksOf(hosts []string) []int {
	seen := map[string]int{}
	out := make([]int, len(hosts))
	for i, h := range hosts {
		out[i] = seen[h]
		seen[h]++
	}
	return out
}
