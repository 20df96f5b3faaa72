package lab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names the lab gives what it makes. One lab runs on a machine at a time:
// its addresses (198.18.0.0/15) and the route to them are machine-wide.
const (
	nsPrefix    = "spmdlab-"
	routerNS    = nsPrefix + "router"
	uplink      = "spmdlab0" // in the machine's own namespace
	routerUp    = "up0"      // its peer in the router
	tunName     = "wan0"     // the emulator's device in the router
	wanTable    = "100"      // the router's table for inter-region traffic
	pointerFile = "/run/spmdlab.dir"
	stateName   = "lab.json"
	// DefaultDir is where a lab keeps its keys, hostfile and host homes
	// unless told otherwise.
	DefaultDir = "/var/lib/spmdlab"
)

// The machine's own namespace reaches the lab through the router, with no
// emulated delay: 198.18.0.2 here, 198.18.0.1 in the router.
var (
	uplinkAddr = netip.MustParseAddr("198.18.0.2")
	routerUpIP = netip.MustParseAddr("198.18.0.1")
)

// State is what a running lab is made of; it is written to lab.json in
// the lab's directory and read by every command after `up`.
type State struct {
	Dir         string
	Regions     []Region
	Links       []Link
	HostMbit    float64
	Slots       int
	Tune        bool
	WANFirst    bool
	Hosts       []Host
	EmulatorPID int
	Started     time.Time
}

// Link is the WAN between two regions as configured at `up` (the
// emulator's current settings, after `slow`, come from `status`).
type Link struct {
	A, B int
	Spec LinkSpec
}

// Host is one emulated machine.
type Host struct {
	Name    string
	Region  int
	Index   int // within its region, from 0
	Addr    netip.Addr
	NetNS   string
	SSHDPID int
	Killed  bool
}

// plan returns the emulator's plan.
func (s *State) plan() Plan {
	p := Plan{Regions: s.Regions, Links: map[[2]int]LinkSpec{}}
	for _, l := range s.Links {
		p.Links[pairKey(l.A, l.B)] = l.Spec
	}
	return p
}

// Host returns the host named name.
func (s *State) Host(name string) (*Host, error) {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i], nil
		}
	}
	var names []string
	for _, h := range s.Hosts {
		names = append(names, h.Name)
	}
	return nil, fmt.Errorf("lab: no host %q (hosts: %s)", name, strings.Join(names, " "))
}

// Region returns the index of the region named name.
func (s *State) Region(name string) (int, error) {
	var names []string
	for i, r := range s.Regions {
		if r.Name == name {
			return i, nil
		}
		names = append(names, r.Name)
	}
	return 0, fmt.Errorf("lab: no region %q (regions: %s)", name, strings.Join(names, " "))
}

func (s *State) hostDir(name string) string { return filepath.Join(s.Dir, "hosts", name) }

// Files a lab writes for its users.
func (s *State) KnownHosts() string { return filepath.Join(s.Dir, "known_hosts") }
func (s *State) ClientKey() string  { return filepath.Join(s.Dir, "id_ed25519") }
func (s *State) Hostfile() string   { return filepath.Join(s.Dir, "hostfile") }
func (s *State) SSHConfig() string  { return filepath.Join(s.Dir, "ssh_config") }
func (s *State) socket() string     { return filepath.Join(s.Dir, "emulator.sock") }

func (s *State) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Dir, stateName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.Dir, stateName))
}

// Load reads the state of the lab that is up on this machine.
func Load() (*State, error) {
	dir, err := os.ReadFile(pointerFile)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("lab: no lab is up on this machine (no %s): start one with `spmdlab up`", pointerFile)
		}
		return nil, fmt.Errorf("lab: %w", err)
	}
	return loadDir(strings.TrimSpace(string(dir)))
}

func loadDir(dir string) (*State, error) {
	path := filepath.Join(dir, stateName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lab: reading the lab's state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("lab: %s: %w", path, err)
	}
	return &s, nil
}
