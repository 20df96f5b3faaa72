package control

import (
	"net"
	"strings"
	"testing"
)

func TestRoundTripAndRedaction(t *testing.T) {
	a, b := net.Pipe()
	ca, cb := NewConn(a), NewConn(b)
	want := Msg{Type: TypeJob, Secret: []byte("topsecret"), Rank: 3, Size: 4, Addrs: []string{"x"}}
	go func() { _ = ca.Send(want) }()
	got, err := cb.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Secret) != "topsecret" || got.Rank != 3 || got.Size != 4 || got.Addrs[0] != "x" {
		t.Fatalf("got %+v", got)
	}
	if s := got.String(); strings.Contains(s, "topsecret") || strings.Contains(s, "dG9wc2VjcmV0") {
		t.Fatalf("String leaks the secret: %s", s)
	}
	go func() { _, _ = a.Write([]byte("{not json}\n")) }()
	if _, err := cb.Recv(); err == nil {
		t.Fatal("bad line accepted")
	}
}
