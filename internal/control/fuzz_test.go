package control

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
)

// rwc is a Conn's stream over a fixed input; what is written is kept.
type rwc struct {
	io.Reader
	out bytes.Buffer
}

func (s *rwc) Write(b []byte) (int, error) { return s.out.Write(b) }
func (s *rwc) Close() error                { return nil }

// FuzzRecv feeds arbitrary bytes to the line protocol, as a rank or a
// proxy would receive them from a broken or hostile peer. Recv must end
// every input with messages or an error, never a panic; every message it
// returns has a type, survives Send and Recv unchanged, and prints
// without its secret.
func FuzzRecv(f *testing.F) {
	for _, m := range []Msg{
		{Type: TypeJob, JobID: []byte{1, 2, 3}, Secret: bytes.Repeat([]byte{7}, 32), Rank: 3, Size: 8, ListenOn: "10.0.0.1", LocalRank: 1, LocalSize: 2},
		{Type: TypeTable, Addrs: []string{"10.0.0.1:4000", "10.0.0.2:4000"}, Hosts: []string{"a", "b"}, Regions: []string{"us", "eu"}, LocalRanks: []int{0, 0}, RegionsAuto: true},
		{Type: TypeAbort, Rank: 2, Code: 3, Reason: "rank 2 called Abort"},
		{Type: TypeAddr, Addr: "[2001:db8::1]:5000"},
		{Type: TypeError, Reason: "no such program"},
	} {
		b, _ := json.Marshal(m)
		f.Add(append(b, '\n'))
	}
	f.Add([]byte("{\"type\":\"job\"}\n{\"type\":"))
	f.Add([]byte("{}\n"))
	f.Add([]byte("\n\n\n"))
	f.Add([]byte("{\"type\":\"job\",\"secret\":\"not base64!\"}\n"))
	f.Add([]byte("{\"type\":\"table\",\"addrs\":[1,2]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewConn(&rwc{Reader: bytes.NewReader(data)})
		for i := 0; ; i++ {
			m, err := c.Recv()
			if err != nil {
				return
			}
			if i > len(data) {
				t.Fatalf("more messages (%d) than input bytes (%d)", i, len(data))
			}
			if m.Type == "" {
				t.Fatalf("message %d without a type: %v", i, m)
			}
			// Round trip: what we send is what the other side reads.
			s := &rwc{}
			if err := NewConn(s).Send(m); err != nil {
				t.Fatalf("Send of a received message: %v", err)
			}
			back, err := NewConn(&rwc{Reader: bytes.NewReader(s.out.Bytes())}).Recv()
			if err != nil {
				t.Fatalf("Recv of %q: %v", s.out.Bytes(), err)
			}
			want, _ := json.Marshal(m)
			got, _ := json.Marshal(back)
			if !bytes.Equal(want, got) {
				t.Fatalf("round trip changed the message:\n%s\n%s", want, got)
			}
			// String never shows the secret.
			var shown Msg
			if err := json.Unmarshal([]byte(m.String()), &shown); err != nil {
				t.Fatalf("String is not JSON: %v", err)
			}
			if m.Secret != nil && string(shown.Secret) != "<redacted>" {
				t.Fatalf("String shows the secret: %s", m.String())
			}
		}
	})
}
