package comm

// Crash drops every connection of c's process without a goodbye, as a
// killed process would.
func Crash(c *Comm) {
	for _, p := range c.w.peers {
		if p != nil {
			p.conn.SetLinger(0)
			p.conn.Close()
		}
	}
}
