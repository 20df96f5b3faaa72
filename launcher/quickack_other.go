//go:build !linux

package launcher

import "net"

func quickAck(c net.Conn) net.Conn { return c }
