package launcher

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseHostfileExample(t *testing.T) {
	f, err := os.Open("../hostfile.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hosts, err := ParseHostfile("hostfile.example", f)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Host{}
	for _, h := range hosts {
		byName[h.Name] = h
	}
	checks := map[string]Host{
		"node1.example.org": {Name: "node1.example.org", Slots: 4},
		"node2.example.org": {Name: "node2.example.org", Slots: 2, MaxSlots: 4},
		"node3.example.org": {Name: "node3.example.org", Slots: 8},
		"node4.example.org": {Name: "node4.example.org", User: "alice", Slots: 2},
		"node5.example.org": {Name: "node5.example.org", Port: 2222, Slots: 2},
		"us2.example.org":   {Name: "us2.example.org", Slots: 2, Region: "us-west", Addr: "10.0.0.2"},
	}
	for name, want := range checks {
		got := byName[name]
		got.Source = ""
		if got != want {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

func TestParseHostfileForms(t *testing.T) {
	text := `
# comment line
   a slots=2   # trailing comment
b:3
bob@c:2222 slots=1 region=eu
[2001:db8::1]:4
d port=2200 addr=192.168.1.4 region=us
a slots=1
198.18.1.10
`
	hosts, err := ParseHostfile("hf", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []Host{
		{Name: "a", Slots: 3, Source: "hf:3"}, // repeated: slots add
		{Name: "b", Slots: 3, Source: "hf:4"},
		{Name: "c", User: "bob", Port: 2222, Slots: 1, Region: "eu", Source: "hf:5"},
		{Name: "2001:db8::1", Slots: 4, Source: "hf:6"},
		{Name: "d", Port: 2200, Slots: 1, Region: "us", Addr: "192.168.1.4", Source: "hf:7"},
		{Name: "198.18.1.10", Slots: 1, Source: "hf:9"},
	}
	if !reflect.DeepEqual(hosts, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", hosts, want)
	}
	if got := hosts[3].SSHAddr(); got != "[2001:db8::1]:22" {
		t.Errorf("SSHAddr %s", got)
	}
	l, err := ParseHostList("x:2, y ,z:1")
	if err != nil || len(l) != 3 || l[0].Slots != 2 || l[1].Slots != 1 {
		t.Fatalf("-H: %+v %v", l, err)
	}
}

// Every malformed line is rejected with the file, the line and the reason.
func TestParseHostfileErrors(t *testing.T) {
	cases := []struct{ text, want string }{
		{"", "hf: no hosts"},
		{"# only\n\n", "hf: no hosts"},
		{"a\nslots=2 b\n", "hf:2: line starts with attribute"},
		{"a slots=0\n", "hf:1: slots=\"0\": want a positive whole number"},
		{"a slots=x\n", "hf:1: slots=\"x\""},
		{"a slots=2 slots=3\n", "hf:1: slots given twice"},
		{"a max_slots=1 slots=2\n", "hf:1: max_slots=1 is below slots=2"},
		{"a slots=2 max_slots=2\na slots=2\n", "hf:2: host a: its slots here and at hf:1 come to 4, above max_slots=2"},
		{"a cpus=4\n", `hf:1: unknown attribute "cpus"`},
		{"a slots\n", `hf:1: "slots": want NAME=VALUE`},
		{"a port=70000\n", "hf:1: port=\"70000\""},
		{"a:0\n", `hf:1: "0" after ':' is not a positive number`},
		{"a:\n", "hf:1: host \"a:\": nothing after ':'"},
		{"\n\na:b\n", `hf:3: "b" after ':'`},
		{"a:99999 slots=1\n", "hf:1: port 99999"},
		{"a:22 port=22 slots=1\n", "hf:1: port given both"},
		{"2001:db8::1\n", "hf:1: host \"2001:db8::1\": an IPv6 address must be in brackets"},
		{"[2001:db8::1\n", "missing ']'"},
		{"[nothost]:2\n", "not an IPv6 address in brackets"},
		{"-bad\n", `hf:1: host "-bad" is not a valid host name`},
		{"a_b!c\n", "is not a valid host name"},
		{"b!ob@a\n", `hf:1: user "b!ob" is not a valid user name`},
		{"a region=us/west\n", `hf:1: region="us/west"`},
		{"a addr=not/an/addr\n", `hf:1: addr="not/an/addr"`},
		{"a region=x\na region=y\n", "hf:2: host a is also at hf:1 with other region="},
		{"ok\n" + strings.Repeat("x", 2<<20) + "\n", "hf:2: bufio.Scanner: token too long"},
	}
	for _, tc := range cases {
		_, err := ParseHostfile("hf", strings.NewReader(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: got %v, want an error with %q", tc.text, err, tc.want)
		}
	}
	if _, err := ParseHostList("a,,b"); err == nil || !strings.Contains(err.Error(), "-H item 2") {
		t.Errorf("-H with an empty item: %v", err)
	}
}

func TestMap(t *testing.T) {
	hosts := []Host{{Name: "a", Slots: 2}, {Name: "b", Slots: 1, MaxSlots: 2}, {Name: "c", Slots: 3}}
	cases := []struct {
		opts MapOptions
		want []int
		err  string
	}{
		{MapOptions{}, []int{0, 0, 1, 2, 2, 2}, ""},
		{MapOptions{NP: 4}, []int{0, 0, 1, 2}, ""},
		{MapOptions{NP: 4, ByNode: true}, []int{0, 1, 2, 0}, ""},
		{MapOptions{NP: 6, ByNode: true}, []int{0, 1, 2, 0, 2, 2}, ""},
		{MapOptions{PerHost: 1}, []int{0, 1, 2}, ""},
		{MapOptions{PerHost: 2, ByNode: true}, []int{0, 1, 2, 0, 1, 2}, ""},
		{MapOptions{NP: 7}, nil, "7 ranks requested but the 3 hosts have 6 slots"},
		{MapOptions{NP: 8, Oversubscribe: true}, []int{0, 0, 0, 0, 1, 2, 2, 2}, ""},
		{MapOptions{NP: 9, ByNode: true, Oversubscribe: true}, []int{0, 1, 2, 0, 1, 2, 0, 2, 0}, ""},
		{MapOptions{NP: 4, PerHost: 1}, nil, "-np 4 is more than -N 1 on 3 hosts"},
	}
	for _, tc := range cases {
		got, err := Map(hosts, tc.opts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: got %v %v, want error %q", tc.opts, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: got %v %v, want %v", tc.opts, got, err, tc.want)
		}
	}
	// max_slots bounds oversubscription: b takes at most 2.
	got, err := Map([]Host{{Name: "b", Slots: 1, MaxSlots: 2}}, MapOptions{NP: 3, Oversubscribe: true})
	if err == nil || !strings.Contains(err.Error(), "max_slots allows 2") {
		t.Errorf("past max_slots: %v %v", got, err)
	}
}

func TestPlatformAndQuote(t *testing.T) {
	for uname, want := range map[string]string{"Linux x86_64\n": "linux/amd64", "Linux aarch64": "linux/arm64", "Darwin arm64": "darwin/arm64", "weird": "unknown (weird)"} {
		if got := platformOf(uname); got != want {
			t.Errorf("platformOf(%q) = %q, want %q", uname, got, want)
		}
	}
	if err := checkPlatform("Linux sparc64"); err == nil || !strings.Contains(err.Error(), "the host is linux/sparc64") {
		t.Errorf("checkPlatform: %v", err)
	}
	for in, want := range map[string]string{"/usr/bin/x": "/usr/bin/x", "a b": "'a b'", "it's": `'it'\''s'`, "": "''", "$HOME": "'$HOME'"} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
