package launcher

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Host is one machine of a job, as a hostfile or -H names it.
type Host struct {
	Name     string // host name or address to reach it by SSH
	User     string // SSH user; "" for the launcher's default
	Port     int    // SSH port; 0 for 22
	Slots    int    // ranks it takes before it is oversubscribed
	MaxSlots int    // hard limit even with --oversubscribe; 0: none
	Region   string // region label for the topology; "" if unlabelled
	Addr     string // address ranks listen on for the mesh; "" for Name
	Source   string // "file:line" (or "-H item N") where it was given
}

// SSHAddr returns host:port for SSH.
func (h Host) SSHAddr() string {
	port := h.Port
	if port == 0 {
		port = 22
	}
	if a, err := netip.ParseAddr(h.Name); err == nil && a.Is6() {
		return fmt.Sprintf("[%s]:%d", h.Name, port)
	}
	return fmt.Sprintf("%s:%d", h.Name, port)
}

// key identifies a host for merging repeated lines.
func (h Host) key() string { return h.User + "@" + h.SSHAddr() }

var (
	hostName   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$`)
	userName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)
	regionLbl  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	maxAnySize = 1 << 20 // slots and ranks above this are a typo
)

// ParseHostfile reads a hostfile in Open MPI form (`host slots=N
// max_slots=M`) or MPICH form (`host:N`), with `#` comments and blank
// lines, `user@host`, and the attributes port=, region= and addr=. In
// `host:N`, N is the slot count (MPICH) unless the line also has slots=,
// in which case it is the SSH port. A line naming a host again adds its
// slots to the first one. name is used in errors, which give file and
// line.
func ParseHostfile(name string, r io.Reader) ([]Host, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var hosts []Host
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, line)
		h, err := parseHostLine(fields, where)
		if err != nil {
			return nil, err
		}
		if hosts, err = addHost(hosts, h); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%s: no hosts in the hostfile", name)
	}
	return hosts, nil
}

// ParseHostList parses -H's "host[:n],...", where n is the slot count.
func ParseHostList(s string) ([]Host, error) {
	var hosts []Host
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		where := fmt.Sprintf("-H item %d (%q)", i+1, item)
		if item == "" {
			return nil, fmt.Errorf("%s: empty host", where)
		}
		h, err := parseHostLine([]string{item}, where)
		if err != nil {
			return nil, err
		}
		if hosts, err = addHost(hosts, h); err != nil {
			return nil, err
		}
	}
	return hosts, nil
}

func addHost(hosts []Host, h Host) ([]Host, error) {
	for i := range hosts {
		if hosts[i].key() != h.key() {
			continue
		}
		old := &hosts[i]
		if h.Region != old.Region || h.Addr != old.Addr {
			return nil, fmt.Errorf("%s: host %s is also at %s with other region= or addr=", h.Source, h.Name, old.Source)
		}
		old.Slots += h.Slots
		if h.MaxSlots > 0 {
			old.MaxSlots = max(old.MaxSlots, h.MaxSlots)
		}
		if old.MaxSlots > 0 && old.MaxSlots < old.Slots {
			return nil, fmt.Errorf("%s: host %s: its slots here and at %s come to %d, above max_slots=%d", h.Source, h.Name, old.Source, old.Slots, old.MaxSlots)
		}
		return hosts, nil
	}
	return append(hosts, h), nil
}

func parseHostLine(fields []string, where string) (Host, error) {
	h := Host{Source: where}
	bad := func(format string, args ...any) (Host, error) {
		return Host{}, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...))
	}
	spec := fields[0]
	if strings.Contains(spec, "=") {
		return bad("line starts with attribute %q; the host comes first", spec)
	}
	if user, rest, ok := strings.Cut(spec, "@"); ok {
		if !userName.MatchString(user) {
			return bad("user %q is not a valid user name", user)
		}
		h.User, spec = user, rest
	}
	var colonNum string
	switch {
	case strings.HasPrefix(spec, "["): // [IPv6] or [IPv6]:N
		end := strings.IndexByte(spec, ']')
		if end < 0 {
			return bad("host %q: missing ']'", spec)
		}
		h.Name = spec[1:end]
		if rest := spec[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return bad("host %q: unexpected %q after ']'", spec, rest)
			}
			colonNum = rest[1:]
		}
		if a, err := netip.ParseAddr(h.Name); err != nil || !a.Is6() {
			return bad("host %q: not an IPv6 address in brackets", spec)
		}
	default:
		name, num, hasColon := strings.Cut(spec, ":")
		if hasColon && strings.Contains(num, ":") {
			return bad("host %q: an IPv6 address must be in brackets, as [2001:db8::1]", spec)
		}
		h.Name = name
		if hasColon {
			colonNum = num
			if num == "" {
				return bad("host %q: nothing after ':'", spec)
			}
		}
		if _, err := netip.ParseAddr(name); err != nil && !hostName.MatchString(name) {
			return bad("host %q is not a valid host name or address", name)
		}
	}
	hasSlots := false
	for _, attr := range fields[1:] {
		k, v, ok := strings.Cut(attr, "=")
		if !ok || v == "" {
			return bad("%q: want NAME=VALUE (slots=, max_slots=, port=, region=, addr=)", attr)
		}
		switch k {
		case "slots", "max_slots", "max-slots", "port":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxAnySize || (k == "port" && n > 65535) {
				return bad("%s=%q: want a positive whole number%s", k, v, map[bool]string{true: " up to 65535"}[k == "port"])
			}
			switch k {
			case "slots":
				if hasSlots {
					return bad("slots given twice")
				}
				h.Slots, hasSlots = n, true
			case "port":
				h.Port = n
			default:
				h.MaxSlots = n
			}
		case "region":
			if !regionLbl.MatchString(v) {
				return bad("region=%q: use letters, digits, '.', '_' and '-'", v)
			}
			h.Region = v
		case "addr":
			if _, err := netip.ParseAddr(v); err != nil && !hostName.MatchString(v) {
				return bad("addr=%q is not an address or host name", v)
			}
			h.Addr = v
		default:
			return bad("unknown attribute %q (known: slots, max_slots, port, region, addr)", k)
		}
	}
	if colonNum != "" {
		n, err := strconv.Atoi(colonNum)
		switch {
		case err != nil || n < 1:
			return bad("%q after ':' is not a positive number (host:slots, or host:port with slots=)", colonNum)
		case hasSlots: // host:port slots=N
			if n > 65535 {
				return bad("port %d: above 65535", n)
			}
			if h.Port != 0 {
				return bad("port given both as :%d and port=", n)
			}
			h.Port = n
		default: // MPICH host:N
			if n > maxAnySize {
				return bad("%d slots: too many", n)
			}
			h.Slots, hasSlots = n, true
		}
	}
	if !hasSlots {
		h.Slots = 1
	}
	if h.MaxSlots > 0 && h.MaxSlots < h.Slots {
		return bad("max_slots=%d is below slots=%d", h.MaxSlots, h.Slots)
	}
	return h, nil
}

// Mapping options, as mpirun's.
type MapOptions struct {
	NP            int  // ranks; 0: one per slot (or PerHost per host)
	PerHost       int  // -N: this many ranks on every host; 0: by slots
	ByNode        bool // --map-by node: round-robin over hosts
	Oversubscribe bool // allow more ranks than slots (up to max_slots)
}

// Map places ranks on hosts and returns each rank's host index. By slot
// (the default), ranks fill each host's slots in order; by node, they go
// round-robin over the hosts with free slots. More ranks than slots is an
// error unless opts.Oversubscribe, and then max_slots still holds.
func Map(hosts []Host, opts MapOptions) ([]int, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("launcher: no hosts to map ranks on")
	}
	total := 0
	for _, h := range hosts {
		total += h.Slots
	}
	np := opts.NP
	if opts.PerHost > 0 {
		if np == 0 {
			np = opts.PerHost * len(hosts)
		} else if np > opts.PerHost*len(hosts) {
			return nil, fmt.Errorf("launcher: -np %d is more than -N %d on %d hosts", np, opts.PerHost, len(hosts))
		}
	}
	if np == 0 {
		np = total
	}
	if np < 0 || np > maxAnySize {
		return nil, fmt.Errorf("launcher: -np %d: out of range", np)
	}
	limit := make([]int, len(hosts)) // ranks a host may take
	for i, h := range hosts {
		limit[i] = h.Slots
		if opts.PerHost > 0 {
			limit[i] = opts.PerHost
		}
	}
	capacity := 0
	for _, l := range limit {
		capacity += l
	}
	if np > capacity {
		if !opts.Oversubscribe {
			return nil, fmt.Errorf("launcher: %d ranks requested but the %d hosts have %d slots; give more hosts or slots, or --oversubscribe", np, len(hosts), capacity)
		}
		capacity = 0
		for i, h := range hosts {
			limit[i] = maxAnySize
			if h.MaxSlots > 0 {
				limit[i] = h.MaxSlots
			}
			capacity += limit[i]
		}
		if np > capacity {
			return nil, fmt.Errorf("launcher: %d ranks requested but max_slots allows %d even oversubscribed", np, capacity)
		}
		if opts.PerHost == 0 && !opts.ByNode {
			// Oversubscribed by slot: spread the extra ranks evenly
			// rather than piling them on the first host.
			return mapOversubscribed(hosts, limit, np), nil
		}
	}
	out := make([]int, 0, np)
	count := make([]int, len(hosts))
	if opts.ByNode {
		for len(out) < np {
			for i := range hosts {
				if len(out) < np && count[i] < limit[i] {
					out = append(out, i)
					count[i]++
				}
			}
		}
		return out, nil
	}
	for i := range hosts {
		for count[i] < limit[i] && len(out) < np {
			out = append(out, i)
			count[i]++
		}
	}
	return out, nil
}

// mapOversubscribed gives each host ranks in proportion to its slots,
// within its limit, keeping each host's ranks together.
func mapOversubscribed(hosts []Host, limit []int, np int) []int {
	count := make([]int, len(hosts))
	for placed := 0; placed < np; {
		for i := range hosts {
			for k := 0; k < hosts[i].Slots && placed < np && count[i] < limit[i]; k++ {
				count[i]++
				placed++
			}
		}
	}
	out := make([]int, 0, np)
	for i, c := range count {
		for ; c > 0; c-- {
			out = append(out, i)
		}
	}
	return out
}
