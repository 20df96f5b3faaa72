package comm

// localSendBuffer is the send buffer (SO_SNDBUF) of a connection to a
// rank on this host; the kernel doubles it for its own bookkeeping.
// Left to the kernel's autotuning, a loopback connection's send buffer
// grows to net.ipv4.tcp_wmem's maximum (4 MiB on Debian), so a sender
// copies a whole large message into the kernel before the receiver has
// read its first megabyte: the copies no longer fit in the 2 MiB L2
// cache of either core and the receiver reads from memory. A fixed, small
// buffer keeps the two copies (sender's in, receiver's out) a few hundred
// KiB apart. Measured (2 ranks, ping-pong, examples/pingpong, 2-core
// EPYC, alternating runs): 4 MiB half round trips 543-549 us autotuned,
// 388-390 us at 256 KiB, 368-380 at 512 KiB, 549-573 at 1 MiB (Open MPI:
// 460-469); 2 MiB 270 -> 191-195 us; sizes up to 1 MiB within the noise.
// A smaller receive buffer made it worse (4 MiB: 862 us), so only the
// send side is fixed. Connections to other hosts keep autotuning: a fixed
// buffer would cap a WAN flow's window.
const localSendBuffer = 512 << 10
