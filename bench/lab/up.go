//go:build linux

package lab

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config is what `spmdlab up` is asked for.
type Config struct {
	Dir      string // keys, hostfile, host homes; DefaultDir if empty
	Regions  []Region
	Delays   map[[2]int]time.Duration // one-way, by region pair (ParseDelays)
	HostMbit float64                  // tbf cap on each host, both directions; 0 = none
	WanMbit  float64                  // each region pair's shared link; 0 = unlimited
	Loss     float64                  // per-packet loss on WAN links, 0..1
	Jitter   time.Duration            // extra WAN delay, uniform in [0, Jitter)
	Slots    int                      // slots per host in the hostfile; 0 means 1
	Tune     bool                     // slow start after idle off, socket buffers ≥ 2 BDP
	WANFirst bool                     // each host's egress sends DSCP LE packets last (needs HostMbit)
	Self     string                   // the spmdlab binary, run in each namespace for helpers
	Log      io.Writer                // progress; nil for none
}

// Tools the lab runs, with the Debian package that has each.
var tools = []struct{ path, pkg string }{
	{"/usr/sbin/ip", "iproute2"},
	{"/usr/sbin/tc", "iproute2"},
	{sshdPath, "openssh-server"},
}

const sshdPath = "/usr/sbin/sshd"

// Preflight checks what `up` needs before anything is made: root, the
// tools, the TUN device, and no lab already up.
func Preflight() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab: spmdlab makes network namespaces and must run as root (try sudo)")
	}
	for _, t := range tools {
		if _, err := os.Stat(t.path); err != nil {
			return fmt.Errorf("lab: %s is missing: install it with `apt-get install %s`", t.path, t.pkg)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("lab: /dev/net/tun is missing (%v): the kernel needs TUN support (modprobe tun)", err)
	}
	if dir, err := os.ReadFile(pointerFile); err == nil {
		return fmt.Errorf("lab: a lab is already up (its files are in %s): run `spmdlab down` first", strings.TrimSpace(string(dir)))
	}
	if _, err := os.Stat("/run/netns/" + routerNS); err == nil {
		return fmt.Errorf("lab: namespace %s is left from an earlier lab: run `spmdlab down` first", routerNS)
	}
	if _, err := net.InterfaceByName(uplink); err == nil {
		return fmt.Errorf("lab: interface %s is left from an earlier lab: run `spmdlab down` first", uplink)
	}
	return nil
}

// checkDir refuses a directory the hosts would not see: each host gets
// its own /tmp and home mounted over the machine's.
func checkDir(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("lab: --dir %q: want an absolute path", dir)
	}
	for _, hidden := range []string{"/tmp", rootHome()} {
		if dir == hidden || strings.HasPrefix(dir, hidden+"/") {
			return fmt.Errorf("lab: --dir %s: is inside %s, which each host has its own copy of; use a directory such as %s", dir, hidden, DefaultDir)
		}
	}
	return nil
}

// Up builds the lab described by cfg. On failure it removes whatever it
// had made.
func Up(cfg Config) (st *State, err error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if err := checkDir(cfg.Dir); err != nil {
		return nil, err
	}
	if cfg.Self == "" {
		return nil, fmt.Errorf("lab: Config.Self must name the spmdlab binary")
	}
	if cfg.Slots < 1 {
		cfg.Slots = 1
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	if entries, err := os.ReadDir(cfg.Dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("lab: --dir %s is not empty; give an empty or new directory", cfg.Dir)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	// From here on, a failure takes everything down again.
	if err := os.WriteFile(pointerFile, []byte(cfg.Dir+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	defer func() {
		if err != nil {
			if derr := Down(nil); derr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, derr)
			}
		}
	}()

	st = &State{Dir: cfg.Dir, Regions: cfg.Regions, HostMbit: cfg.HostMbit, Slots: cfg.Slots, Tune: cfg.Tune, WANFirst: cfg.WANFirst, Started: time.Now()}
	for k, d := range cfg.Delays {
		spec := LinkSpec{Delay: d, Jitter: cfg.Jitter, Mbit: cfg.WanMbit, Loss: cfg.Loss}
		st.Links = append(st.Links, Link{A: k[0], B: k[1], Spec: spec})
	}
	for r, reg := range cfg.Regions {
		for h := 0; h < reg.Hosts; h++ {
			name := fmt.Sprintf("%s-%d", reg.Name, h+1)
			st.Hosts = append(st.Hosts, Host{Name: name, Region: r, Index: h, Addr: HostAddr(r, h), NetNS: nsPrefix + name})
		}
	}
	if err := st.save(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}

	logf("network: router, %d regions, %d hosts", len(st.Regions), len(st.Hosts))
	if err := buildNetwork(st, cfg); err != nil {
		return nil, err
	}
	logf("emulator: starting in %s", routerNS)
	if err := startEmulator(st, cfg.Self); err != nil {
		return nil, err
	}
	if err := routeWAN(st); err != nil {
		return nil, err
	}
	logf("ssh: keys and one sshd per host")
	if err := writeSSHFiles(st); err != nil {
		return nil, err
	}
	for i := range st.Hosts {
		if err := startSSHD(st, &st.Hosts[i], cfg.Self); err != nil {
			return nil, err
		}
	}
	if err := st.save(); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return st, nil
}

// run runs a command and returns an error with its output.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// batch runs iproute2 commands, one per line, in the namespace ns ("" for
// the machine's own), stopping at the first failure.
func batch(tool, ns string, lines []string) error {
	args := []string{}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	args = append(args, "-batch", "-")
	cmd := exec.Command(tool, args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: %s in namespace %q: %v: %s", tool, ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// sysctl sets kernel settings in namespace ns through the helper.
func sysctl(self, ns string, kv ...string) error {
	return run("ip", append([]string{"netns", "exec", ns, self, helperSysctl}, kv...)...)
}

func buildNetwork(st *State, cfg Config) error {
	if err := run("ip", "netns", "add", routerNS); err != nil {
		return err
	}
	router := []string{"link set lo up"}
	for r := range st.Regions {
		br := fmt.Sprintf("br%d", r)
		router = append(router,
			fmt.Sprintf("link add %s type bridge", br),
			fmt.Sprintf("addr add %s/24 dev %s", RouterAddr(r), br),
			fmt.Sprintf("link set %s up", br))
	}
	router = append(router, fmt.Sprintf("tuntap add dev %s mode tun", tunName))
	if err := batch("ip", routerNS, router); err != nil {
		return err
	}
	// The machine's own namespace reaches every host through the router.
	if err := batch("ip", "", []string{
		fmt.Sprintf("link add %s type veth peer name %s netns %s", uplink, routerUp, routerNS),
		fmt.Sprintf("addr add %s/24 dev %s", uplinkAddr, uplink),
		fmt.Sprintf("link set %s up", uplink),
		fmt.Sprintf("route add 198.18.0.0/15 via %s dev %s", routerUpIP, uplink),
	}); err != nil {
		return err
	}
	if err := batch("ip", routerNS, []string{
		fmt.Sprintf("addr add %s/24 dev %s", routerUpIP, routerUp),
		fmt.Sprintf("link set %s up", routerUp),
	}); err != nil {
		return err
	}
	kv := []string{"net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
		"net.ipv4.conf." + tunName + ".rp_filter=0"}
	for r := range st.Regions {
		kv = append(kv, fmt.Sprintf("net.ipv4.conf.br%d.rp_filter=0", r))
	}
	if err := sysctl(cfg.Self, routerNS, kv...); err != nil {
		return err
	}
	for _, h := range st.Hosts {
		if err := run("ip", "netns", "add", h.NetNS); err != nil {
			return err
		}
		port := fmt.Sprintf("h%d-%d", h.Region, h.Index)
		if err := batch("ip", routerNS, []string{
			fmt.Sprintf("link add %s type veth peer name eth0 netns %s", port, h.NetNS),
			fmt.Sprintf("link set %s master br%d", port, h.Region),
			fmt.Sprintf("link set %s up", port),
		}); err != nil {
			return err
		}
		if err := batch("ip", h.NetNS, []string{
			"link set lo up",
			fmt.Sprintf("addr add %s/24 dev eth0", h.Addr),
			"link set eth0 up",
			fmt.Sprintf("route add default via %s", RouterAddr(h.Region)),
		}); err != nil {
			return err
		}
		if cfg.HostMbit > 0 {
			// A VPS plan: the host's own traffic is capped both ways,
			// on its side of the link going out and the router's side
			// coming in.
			tbf := tbfArgs(cfg.HostMbit)
			if cfg.WANFirst {
				if err := batch("tc", h.NetNS, wanFirstTC("eth0", cfg.HostMbit)); err != nil {
					return err
				}
			} else if err := run("tc", append([]string{"-n", h.NetNS, "qdisc", "add", "dev", "eth0", "root"}, tbf...)...); err != nil {
				return err
			}
			if err := run("tc", append([]string{"-n", routerNS, "qdisc", "add", "dev", port, "root"}, tbf...)...); err != nil {
				return err
			}
		}
		if cfg.Tune {
			buf := fmt.Sprint(tuneBuffer(cfg))
			if err := sysctl(cfg.Self, h.NetNS, "net.ipv4.tcp_slow_start_after_idle=0",
				"net.ipv4.tcp_rmem=4096 131072 "+buf, "net.ipv4.tcp_wmem=4096 16384 "+buf); err != nil {
				return err
			}
		}
	}
	return nil
}

// tbfArgs returns a token bucket at mbit: a burst of 4 ms at that rate
// (at least 32 KiB) and up to 50 ms of queue, like a VPS's shaper.
func tbfArgs(mbit float64) []string {
	burst := tbfBurst(mbit)
	return []string{"tbf", "rate", fmt.Sprintf("%gmbit", mbit), "burst", fmt.Sprint(burst), "latency", "50ms"}
}

// tbfBurst is the burst of a host's cap at mbit: 4 ms at that rate, at
// least 32 KiB.
func tbfBurst(mbit float64) int { return max(int(mbit*1e6/8*0.004), 32<<10) }

// wanFirstTC returns the tc commands that cap dev's egress at mbit, as
// tbfArgs does, in an HTB class with two under it: packets marked
// lower-effort (DSCP LE, the traffic-class byte 0x04; comm.Comm.SetYield)
// in one with 1% of the rate assured and HTB priority 1, all others in
// one with 99% and priority 0, either borrowing up to the whole rate.
// So a marked packet goes only when no other waits (this kernel has no
// prio qdisc). docs/walkthrough.md gives the same for a user's hosts.
func wanFirstTC(dev string, mbit float64) []string {
	burst := tbfBurst(mbit)
	class := func(id string, rate float64, prio int) string {
		return fmt.Sprintf("class add dev %s parent 1:1 classid %s htb rate %gkbit ceil %gkbit burst %d cburst %d prio %d quantum 15140",
			dev, id, rate*1000, mbit*1000, burst, burst, prio)
	}
	return []string{
		fmt.Sprintf("qdisc add dev %s root handle 1: htb default 10", dev),
		fmt.Sprintf("class add dev %s parent 1: classid 1:1 htb rate %gkbit ceil %gkbit burst %d cburst %d quantum 15140", dev, mbit*1000, mbit*1000, burst, burst),
		class("1:10", mbit*0.99, 0),
		class("1:20", mbit*0.01, 1),
		fmt.Sprintf("filter add dev %s parent 1: protocol ip prio 1 u32 match ip dsfield 0x04 0xfc flowid 1:20", dev),
	}
}

// tuneBuffer returns the socket buffer limit for --tune: twice the largest
// bandwidth-delay product in the lab, at least Linux's default 6 MiB.
func tuneBuffer(cfg Config) int {
	mbit := cfg.HostMbit
	if mbit == 0 || (cfg.WanMbit > 0 && cfg.WanMbit < mbit) {
		mbit = cfg.WanMbit
	}
	if mbit == 0 {
		mbit = 10000
	}
	var rtt time.Duration
	for _, d := range cfg.Delays {
		rtt = max(rtt, 2*(d+cfg.Jitter))
	}
	return max(int(2*mbit*1e6/8*rtt.Seconds()), 6<<20)
}

// routeWAN sends traffic between regions through the emulator's TUN
// device: whatever a region's bridge receives for another region's LAN is
// looked up in a table that points at the device. Traffic inside a
// region is bridged and never routed.
func routeWAN(st *State) error {
	lines := []string{"link set " + tunName + " up"}
	for r := range st.Regions {
		lines = append(lines, fmt.Sprintf("route add %s dev %s table %s", RegionPrefix(r), tunName, wanTable))
	}
	for r := range st.Regions {
		lines = append(lines, fmt.Sprintf("rule add iif br%d lookup %s pref 1000", r, wanTable))
	}
	return batch("ip", routerNS, lines)
}

// startDetached starts argv in its own session with output to logPath
// and returns its pid; it outlives spmdlab.
func startDetached(logPath string, argv ...string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("lab: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = detachAttr()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("lab: starting %s: %w", strings.Join(argv, " "), err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reap it if it dies while we are still here
	return pid, nil
}

func startEmulator(st *State, self string) error {
	pid, err := startDetached(filepath.Join(st.Dir, "emulator.log"), "ip", "netns", "exec", routerNS, self, helperEmulator, st.Dir)
	if err != nil {
		return err
	}
	st.EmulatorPID = pid
	if err := st.save(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := st.control(request{Op: "ping"})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || !alive(pid) {
			return fmt.Errorf("lab: the emulator did not start: %v; its log says: %s", err, tail(filepath.Join(st.Dir, "emulator.log")))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeSSHFiles makes the client key, every host's key, home and sshd
// configuration, and the files users need: known_hosts, ssh_config and
// the hostfile.
func writeSSHFiles(st *State) error {
	clientPub, err := writeKey(st.ClientKey(), "spmdlab client")
	if err != nil {
		return err
	}
	var known, hostfile, sshConfig strings.Builder
	fmt.Fprintf(&hostfile, "# spmdlab: %d hosts in %d regions; made %s\n", len(st.Hosts), len(st.Regions), st.Started.Format(time.RFC3339))
	for _, h := range st.Hosts {
		fmt.Fprintf(&hostfile, "#   %-15s %s\n", h.Addr, h.Name)
	}
	fmt.Fprintf(&sshConfig, "# spmdlab: ssh -F %s HOST\n", st.SSHConfig())
	for i := range st.Hosts {
		h := &st.Hosts[i]
		dir := st.hostDir(h.Name)
		for _, d := range []struct {
			path string
			mode os.FileMode
		}{{dir, 0o700}, {filepath.Join(dir, "home"), 0o700}, {filepath.Join(dir, "home", ".ssh"), 0o700}, {filepath.Join(dir, "tmp"), os.ModeSticky | 0o777}} {
			if err := os.MkdirAll(d.path, d.mode); err != nil {
				return fmt.Errorf("lab: %w", err)
			}
			if err := os.Chmod(d.path, d.mode); err != nil { // past the umask
				return fmt.Errorf("lab: %w", err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "home", ".ssh", "authorized_keys"), clientPub, 0o600); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		hostPub, err := writeKey(filepath.Join(dir, "ssh_host_ed25519_key"), "spmdlab "+h.Name)
		if err != nil {
			return err
		}
		conf := fmt.Sprintf(`# sshd of lab host %s
ListenAddress %s
Port 22
HostKey %s
PidFile none
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
`, h.Name, h.Addr, filepath.Join(dir, "ssh_host_ed25519_key"))
		if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		fmt.Fprintf(&known, "%s,%s %s", h.Name, h.Addr, hostPub)
		fmt.Fprintf(&hostfile, "%s slots=%d region=%s\n", h.Addr, st.Slots, st.Regions[h.Region].Name)
		fmt.Fprintf(&sshConfig, "Host %s\n  HostName %s\n", h.Name, h.Addr)
	}
	fmt.Fprintf(&sshConfig, "Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		st.ClientKey(), st.KnownHosts())
	for path, text := range map[string]string{st.KnownHosts(): known.String(), st.Hostfile(): hostfile.String(), st.SSHConfig(): sshConfig.String()} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
	}
	// sshd wants its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	return nil
}

// writeKey writes a new ed25519 private key in OpenSSH format to path and
// its public half to path.pub, and returns the public key's
// authorized_keys line.
func writeKey(path, comment string) ([]byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("lab: key for %s: %w", comment, err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	line := ssh.MarshalAuthorizedKey(sshPub)
	line = append(line[:len(line)-1], []byte(" "+comment+"\n")...)
	if err := os.WriteFile(path+".pub", line, 0o644); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return line, nil
}

// startSSHD starts host h's sshd in its namespace, with its private home
// and /tmp, and waits until it greets.
func startSSHD(st *State, h *Host, self string) error {
	logPath := filepath.Join(st.hostDir(h.Name), "sshd.log")
	pid, err := startDetached(logPath, "ip", "netns", "exec", h.NetNS, self, helperHost, st.Dir, h.Name, "--", sshdPath, "-D", "-e", "-f", filepath.Join(st.hostDir(h.Name), "sshd_config"))
	if err != nil {
		return err
	}
	h.SSHDPID = pid
	addr := net.JoinHostPort(h.Addr.String(), "22")
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := sshGreets(addr)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || !alive(pid) {
			return fmt.Errorf("lab: sshd of %s at %s did not start: %v; its log says: %s", h.Name, addr, err, tail(logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sshGreets connects to addr and reads an SSH version line.
func sshGreets(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return fmt.Errorf("greeted with %q, not SSH", line)
	}
	return nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "(nothing)"
	}
	return strings.Join(lines, " | ")
}
