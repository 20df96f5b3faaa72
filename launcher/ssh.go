package launcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHConfig is how the launcher reaches hosts.
type SSHConfig struct {
	User       string   // default user; "" for the current user
	KeyFiles   []string // -i; when empty, ~/.ssh/id_ed25519, id_ecdsa, id_rsa
	KnownHosts []string // when empty, ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts
	// AcceptNew records the key of a host that has none in KnownHosts
	// (in the first file); a changed key is always refused.
	AcceptNew bool
	Jump      string // [user@]host[:port] of a bastion, or ""
	// ConnectTimeout bounds the TCP connect and the SSH handshake; 10 s
	// if zero.
	ConnectTimeout time.Duration
	// MaxStartups caps concurrent handshakes, below sshd's own MaxStartups
	// (10 unauthenticated connections by default); 8 if zero.
	MaxStartups int
	// Retries of a handshake refused or reset in passing (as sshd does
	// past MaxStartups); 3 if zero.
	Retries int
	// Keepalive is the interval of keepalive requests; a connection that
	// misses three is closed. 5 s if zero.
	Keepalive time.Duration
}

func (c *SSHConfig) defaults() {
	home, _ := os.UserHomeDir()
	if c.User == "" {
		if u, err := user.Current(); err == nil {
			c.User = u.Username
		}
	}
	if len(c.KeyFiles) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			c.KeyFiles = append(c.KeyFiles, filepath.Join(home, ".ssh", n))
		}
	}
	if len(c.KnownHosts) == 0 {
		c.KnownHosts = []string{filepath.Join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts"}
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.MaxStartups <= 0 {
		c.MaxStartups = 8
	}
	if c.Retries <= 0 {
		c.Retries = 3
	}
	if c.Keepalive <= 0 {
		c.Keepalive = 5 * time.Second
	}
}

// dialer opens SSH connections with one configuration: authentication,
// host key checks, a cap on handshakes in flight, retries.
type dialer struct {
	cfg     SSHConfig
	auth    []ssh.AuthMethod
	sem     chan struct{}
	mu      sync.Mutex // guards known (reloaded after a key is recorded) and jump
	known   ssh.HostKeyCallback
	jump    *ssh.Client
	closers []func()
}

// newDialer loads keys (ssh-agent first, then key files) and known hosts.
func newDialer(cfg SSHConfig) (*dialer, error) {
	cfg.defaults()
	d := &dialer{cfg: cfg, sem: make(chan struct{}, cfg.MaxStartups)}
	var signers []ssh.Signer
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if conn, err := net.Dial("unix", sock); err == nil {
			ag := agent.NewClient(conn)
			if s, err := ag.Signers(); err == nil {
				signers = append(signers, s...)
			}
			d.closers = append(d.closers, func() { conn.Close() })
		}
	}
	var keyErrs []string
	for _, f := range cfg.KeyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			if !os.IsNotExist(err) {
				keyErrs = append(keyErrs, err.Error())
			}
			continue
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				keyErrs = append(keyErrs, f+": has a passphrase; load it into ssh-agent")
			} else {
				keyErrs = append(keyErrs, f+": "+err.Error())
			}
			continue
		}
		signers = append(signers, s)
	}
	if len(signers) == 0 {
		msg := "launcher: no SSH key: no ssh-agent keys and none of " + strings.Join(cfg.KeyFiles, ", ")
		if len(keyErrs) > 0 {
			msg += " (" + strings.Join(keyErrs, "; ") + ")"
		}
		return nil, errors.New(msg)
	}
	d.auth = []ssh.AuthMethod{ssh.PublicKeys(signers...)}
	if err := d.loadKnown(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *dialer) loadKnown() error {
	var files []string
	for _, f := range d.cfg.KnownHosts {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		d.known = func(string, net.Addr, ssh.PublicKey) error {
			return &knownhosts.KeyError{}
		}
		return nil
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return fmt.Errorf("launcher: reading known hosts: %w", err)
	}
	d.known = cb
	return nil
}

func (d *dialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.jump != nil {
		d.jump.Close()
	}
	for _, c := range d.closers {
		c()
	}
}

// hostKeyCallback checks a host's key against the known hosts: an
// unknown key is recorded with AcceptNew or refused with its fingerprint
// and what to do; a changed key is always refused.
func (d *dialer) hostKeyCallback(label string) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		err := d.known(hostname, remote, key)
		var ke *knownhosts.KeyError
		if err == nil || !errors.As(err, &ke) {
			return err
		}
		fp := ssh.FingerprintSHA256(key)
		if len(ke.Want) > 0 {
			var where []string
			for _, w := range ke.Want {
				where = append(where, fmt.Sprintf("%s:%d (%s)", w.Filename, w.Line, ssh.FingerprintSHA256(w.Key)))
			}
			return fmt.Errorf("HOST KEY OF %s (%s) HAS CHANGED: it now offers %s %s, but known hosts say %s; "+
				"someone may be intercepting the connection. If the host was reinstalled, remove the old line and connect again",
				label, hostname, key.Type(), fp, strings.Join(where, ", "))
		}
		if !d.cfg.AcceptNew {
			return fmt.Errorf("host key of %s (%s) is unknown: %s %s; if that is the host's key, rerun with --accept-new-hostkeys to record it in %s (or add it with ssh-keyscan)",
				label, hostname, key.Type(), fp, d.cfg.KnownHosts[0])
		}
		f := d.cfg.KnownHosts[0]
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return err
		}
		line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("recording the host key of %s: %w", label, err)
		}
		_, err = fh.WriteString(line)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("recording the host key of %s: %w", label, err)
		}
		fmt.Fprintf(os.Stderr, "spmdrun: recorded the host key of %s (%s %s) in %s\n", label, key.Type(), fp, f)
		return d.loadKnownLocked()
	}
}

func (d *dialer) loadKnownLocked() error { return d.loadKnown() }

// knownAlgorithms returns the host key algorithms known hosts hold for
// addr, so the server is asked for a key we can check rather than one
// of another type (which would look like a changed key).
func (d *dialer) knownAlgorithms(addr string) []string {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	d.mu.Lock()
	err = d.known(addr, tcp, probeKey{})
	d.mu.Unlock()
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	for _, w := range ke.Want {
		switch t := w.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, t)
		}
	}
	return algos
}

// probeKey is a key no host has, for asking known hosts what they hold.
type probeKey struct{}

func (probeKey) Type() string                        { return "spmd-probe" }
func (probeKey) Marshal() []byte                     { return []byte("spmd-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

// dial connects to h, through the jump host if there is one.
func (d *dialer) dial(ctx context.Context, h Host) (*ssh.Client, error) {
	addr := h.SSHAddr()
	userName := h.User
	if userName == "" {
		userName = d.cfg.User
	}
	label := h.Name
	if h.Source != "" {
		label += " (" + h.Source + ")"
	}
	cc := &ssh.ClientConfig{
		User:              userName,
		Auth:              d.auth,
		HostKeyCallback:   d.hostKeyCallback(label),
		HostKeyAlgorithms: d.knownAlgorithms(addr),
		Timeout:           d.cfg.ConnectTimeout,
	}
	var lastErr error
	backoff := 200 * time.Millisecond
	for attempt := 0; attempt <= d.cfg.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			backoff *= 2
		}
		c, err := d.dialOnce(ctx, addr, cc)
		if err == nil {
			go d.keepalive(c)
			return c, nil
		}
		lastErr = err
		if !transient(err) {
			break
		}
	}
	return nil, fmt.Errorf("%s: %w", label, lastErr)
}

func (d *dialer) dialOnce(ctx context.Context, addr string, cc *ssh.ClientConfig) (*ssh.Client, error) {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-d.sem }()
	var conn net.Conn
	var err error
	if d.cfg.Jump != "" {
		jc, jerr := d.jumpClient(ctx)
		if jerr != nil {
			return nil, fmt.Errorf("jump host %s: %w", d.cfg.Jump, jerr)
		}
		conn, err = jc.DialContext(ctx, "tcp", addr)
	} else {
		nd := net.Dialer{Timeout: d.cfg.ConnectTimeout, KeepAlive: 15 * time.Second}
		conn, err = nd.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	conn = quickAck(conn)
	conn.SetDeadline(time.Now().Add(d.cfg.ConnectTimeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cc)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

func (d *dialer) jumpClient(ctx context.Context) (*ssh.Client, error) {
	d.mu.Lock()
	if d.jump != nil {
		c := d.jump
		d.mu.Unlock()
		return c, nil
	}
	d.mu.Unlock()
	hosts, err := ParseHostList(d.cfg.Jump)
	if err != nil || len(hosts) != 1 {
		return nil, fmt.Errorf("want [user@]host[:port]")
	}
	j := hosts[0]
	if j.Slots > 1 { // ParseHostList reads host:N as slots; for a jump it is the port
		j.Port, j.Slots = j.Slots, 1
	}
	userName := j.User
	if userName == "" {
		userName = d.cfg.User
	}
	cc := &ssh.ClientConfig{User: userName, Auth: d.auth, HostKeyCallback: d.hostKeyCallback("jump host " + j.Name),
		HostKeyAlgorithms: d.knownAlgorithms(j.SSHAddr()), Timeout: d.cfg.ConnectTimeout}
	nd := net.Dialer{Timeout: d.cfg.ConnectTimeout}
	conn, err := nd.DialContext(ctx, "tcp", j.SSHAddr())
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(d.cfg.ConnectTimeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, j.SSHAddr(), cc)
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	c := ssh.NewClient(sc, chans, reqs)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.jump != nil { // another goroutine won
		c.Close()
		return d.jump, nil
	}
	d.jump = c
	go d.keepalive(c)
	return c, nil
}

// keepalive sends a request every interval and closes c when three in a
// row go unanswered (a silent network), which fails its sessions.
func (d *dialer) keepalive(c *ssh.Client) {
	t := time.NewTicker(d.cfg.Keepalive)
	defer t.Stop()
	for range t.C {
		done := make(chan error, 1)
		go func() {
			_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				return // closed
			}
		case <-time.After(3 * d.cfg.Keepalive):
			c.Close()
			return
		}
	}
}

// transient reports whether a failed connection is worth retrying: the
// host refused or reset it, or closed it during the handshake (sshd past
// MaxStartups), but not a host key or authentication failure.
func transient(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "handshake failed: EOF") || strings.Contains(s, "connection reset")
}

// quote returns s quoted for a POSIX shell.
func quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
