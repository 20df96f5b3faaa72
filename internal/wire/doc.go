// Package wire is the byte format spoken on the rank mesh: the frame header
// that carries every point-to-point message, the reader that reassembles a
// message from its frames, and the fixed-size messages of the authenticated
// handshake.
//
// # Frames
//
// Every message is sent as one or more frames. A frame is a 24-byte header
// followed by at most MaxFrame bytes of payload:
//
//	offset size field
//	0      1    kind      KindData or KindBye
//	1      1    flags     FlagFirst on the first frame, FlagLast on the last, FlagCompressed (first frame) for a compressed payload, FlagRemote (one-frame message) for a descriptor of a message the receiver copies from the sender's memory
//	2      2    reserved  zero
//	4      4    context   communicator context id (little endian)
//	8      4    tag       message tag (little endian, two's complement)
//	12     4    length    payload bytes in this frame
//	16     8    total     payload bytes in the whole message
//
// The header is little endian. The payload is the sender's memory as it is
// (typed slices travel as byte views); the handshake checks that both sides
// use the same byte order. Frames of two messages never interleave on one
// connection: a sender writes a whole message before the next one.
//
// A decoder never trusts a length before checking it against the caps given
// to it, so a corrupt or hostile stream is rejected before anything is
// allocated for it.
package wire
