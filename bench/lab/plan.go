package lab

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Region is a group of hosts that share a LAN.
type Region struct {
	Name  string
	Hosts int
}

// Plan is a lab's layout: regions with their hosts, and the links between
// every pair of regions.
type Plan struct {
	Regions []Region
	Links   map[[2]int]LinkSpec // keyed by region indexes, lower first
}

var regionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// ParseRegions parses "us-west:2,ap-sg:2,eu-fra:2".
func ParseRegions(s string) ([]Region, error) {
	var out []Region
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("lab: --regions item %d %q: want NAME:HOSTS, as us-west:2", i+1, part)
		}
		if !regionName.MatchString(name) {
			return nil, fmt.Errorf("lab: --regions item %d: region name %q: use lower-case letters, digits and '-', starting with a letter", i+1, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("lab: --regions item %d: region %q given twice", i+1, name)
		}
		seen[name] = true
		hosts, err := strconv.Atoi(n)
		if err != nil || hosts < 1 || hosts > maxHostsPerRegion {
			return nil, fmt.Errorf("lab: --regions item %d: %q hosts for %s: want 1..%d", i+1, n, name, maxHostsPerRegion)
		}
		out = append(out, Region{Name: name, Hosts: hosts})
	}
	if len(out) > maxRegions {
		return nil, fmt.Errorf("lab: %d regions: at most %d", len(out), maxRegions)
	}
	return out, nil
}

const (
	maxRegions        = 200
	maxHostsPerRegion = 240 // host h is .h+10 on its /24
)

// ParseDelays parses "us-west/ap-sg=40ms,us-west/eu-fra=90ms" against the
// regions and returns one-way delays by region pair (lower index first).
// Every pair of regions must be given exactly once.
func ParseDelays(s string, regions []Region) (map[[2]int]time.Duration, error) {
	idx := map[string]int{}
	for i, r := range regions {
		idx[r.Name] = i
	}
	out := map[[2]int]time.Duration{}
	if strings.TrimSpace(s) != "" {
		for i, part := range strings.Split(s, ",") {
			pair, d, ok := strings.Cut(strings.TrimSpace(part), "=")
			a, b, ok2 := strings.Cut(pair, "/")
			if !ok || !ok2 {
				return nil, fmt.Errorf("lab: --delay item %d %q: want A/B=DELAY, as us-west/ap-sg=40ms", i+1, part)
			}
			ia, oka := idx[a]
			ib, okb := idx[b]
			switch {
			case !oka:
				return nil, fmt.Errorf("lab: --delay item %d: no region %q in --regions", i+1, a)
			case !okb:
				return nil, fmt.Errorf("lab: --delay item %d: no region %q in --regions", i+1, b)
			case ia == ib:
				return nil, fmt.Errorf("lab: --delay item %d: %s/%s: a region has no delay to itself", i+1, a, b)
			}
			dur, err := time.ParseDuration(d)
			if err != nil || dur < 0 || dur > time.Minute {
				return nil, fmt.Errorf("lab: --delay item %d: %q is not a one-way delay such as 40ms", i+1, d)
			}
			key := pairKey(ia, ib)
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("lab: --delay item %d: %s/%s given twice", i+1, a, b)
			}
			out[key] = dur
		}
	}
	for i := range regions {
		for j := i + 1; j < len(regions); j++ {
			if _, ok := out[[2]int{i, j}]; !ok {
				return nil, fmt.Errorf("lab: --delay has no delay for %s/%s", regions[i].Name, regions[j].Name)
			}
		}
	}
	return out, nil
}

func pairKey(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

// Addressing in 198.18.0.0/15: region i's LAN is 198.18.(i+1).0/24, the
// router is .1 on it and host h of the region is .(h+10).

// RegionPrefix returns region i's LAN.
func RegionPrefix(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i + 1), 0}), 24)
}

// RouterAddr returns the router's address on region i's LAN.
func RouterAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, byte(i + 1), 1}) }

// HostAddr returns the address of host h (0-based) of region i.
func HostAddr(i, h int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, byte(i + 1), byte(h + 10)})
}

// RegionOf returns the region whose LAN holds a, or -1.
func RegionOf(a netip.Addr, regions int) int {
	if !a.Is4() {
		return -1
	}
	b := a.As4()
	if b[0] != 198 || b[1] != 18 || b[2] == 0 || int(b[2]) > regions {
		return -1
	}
	return int(b[2]) - 1
}
