package launcher

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// render writes hosts back as a hostfile, one line each.
func render(hosts []Host) string {
	var b strings.Builder
	for _, h := range hosts {
		if h.User != "" {
			b.WriteString(h.User + "@")
		}
		if a, err := netip.ParseAddr(h.Name); err == nil && a.Is6() {
			b.WriteString("[" + h.Name + "]")
		} else {
			b.WriteString(h.Name)
		}
		fmt.Fprintf(&b, " slots=%d", h.Slots)
		if h.MaxSlots > 0 {
			fmt.Fprintf(&b, " max_slots=%d", h.MaxSlots)
		}
		if h.Port > 0 {
			fmt.Fprintf(&b, " port=%d", h.Port)
		}
		if h.Region != "" {
			b.WriteString(" region=" + h.Region)
		}
		if h.Addr != "" {
			b.WriteString(" addr=" + h.Addr)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// FuzzParseHostfile feeds arbitrary text to the hostfile parser. It must
// never panic; an error names the file (and the line, when one is at
// fault); a hostfile it accepts describes hosts that make sense, and
// written back and parsed again gives the same hosts.
func FuzzParseHostfile(f *testing.F) {
	for _, s := range []string{
		"# three regions\nnode1 slots=4 region=us-west\nnode2 slots=4 region=us-west\nalice@10.0.0.7:2222 slots=2 region=eu addr=192.168.1.7\n",
		"a:4\nb:2\n[2001:db8::1]:3\n",
		"a slots=2 max_slots=4\na slots=1\n",
		"a slots=2 max_slots=2\na slots=2\n",
		"host port=22 slots=1 # comment\n\n   \n",
		"a slots=0\n", "=a\n", "a slots=1 slots=2\n", "[::1\n", "a:\n", "a:1:2\n", "a b\n", "a region=\n",
		"a:70000 slots=1\n", "a port=1 slots=1 b:2\n", "x@y@z\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hosts, err := ParseHostfile("fuzz.hosts", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.hosts") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(hosts) == 0 {
			t.Fatal("no hosts and no error")
		}
		seen := map[string]bool{}
		for _, h := range hosts {
			where := h.Source
			if !strings.HasPrefix(where, "fuzz.hosts:") {
				t.Fatalf("host %q: source %q does not name file and line", h.Name, where)
			}
			if _, err := netip.ParseAddr(h.Name); err != nil && !hostName.MatchString(h.Name) {
				t.Fatalf("%s: accepted host name %q", where, h.Name)
			}
			if h.User != "" && !userName.MatchString(h.User) {
				t.Fatalf("%s: accepted user %q", where, h.User)
			}
			if h.Slots < 1 || h.MaxSlots < 0 || (h.MaxSlots > 0 && h.MaxSlots < h.Slots) {
				t.Fatalf("%s: host %q: slots %d, max_slots %d", where, h.Name, h.Slots, h.MaxSlots)
			}
			if h.Port < 0 || h.Port > 65535 {
				t.Fatalf("%s: port %d", where, h.Port)
			}
			if h.Region != "" && !regionLbl.MatchString(h.Region) {
				t.Fatalf("%s: region %q", where, h.Region)
			}
			if seen[h.key()] {
				t.Fatalf("%s: host %q listed twice", where, h.Name)
			}
			seen[h.key()] = true
		}
		text := render(hosts)
		again, err := ParseHostfile("again", strings.NewReader(text))
		if err != nil {
			t.Fatalf("written back as\n%s\nit does not parse: %v", text, err)
		}
		if len(again) != len(hosts) {
			t.Fatalf("written back as\n%s\nit parses to %d hosts, not %d", text, len(again), len(hosts))
		}
		for i := range hosts {
			a, b := hosts[i], again[i]
			a.Source, b.Source = "", ""
			if a != b {
				t.Fatalf("host %d: %+v, written back and parsed: %+v", i, a, b)
			}
		}
	})
}
