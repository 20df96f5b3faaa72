// Package comm joins an SPMD job and moves messages between its ranks.
//
// A program calls Init once; it returns the world communicator, whose
// ranks are every process of the job. Started by spmdrun, the process
// learns its rank, the job's secret and every other rank's address from
// its launcher and connects a TCP mesh; started on its own, it is a world
// of size one.
//
//	world, err := comm.Init(ctx)
//	if err != nil { ... }
//	defer world.Close()
//	if world.Rank() == 0 {
//		err = comm.SendSlice(ctx, world, []float64{1, 2, 3}, 1, 7)
//	} else if world.Rank() == 1 {
//		buf := make([]float64, 3)
//		_, err = comm.RecvSlice(ctx, world, buf, 0, 7)
//	}
//
// # Security
//
// Every mesh connection starts with a mutual HMAC-SHA256 challenge over
// fresh nonces of both sides, the job id and both ranks, keyed by the
// job's 32-byte secret, which reaches the rank over an inherited socket
// (never argv or the environment). A connection that fails it is closed
// before any frame is decoded.
//
// # Ordering
//
// Messages are matched by communicator, source and tag; AnySource and
// AnyTag are wildcards. Two messages from one source on one communicator
// that both match a receive are received in the order sent (for sends
// from different goroutines, the order their Send or Isend calls took
// effect). Collective traffic uses a separate context (Collective), so a
// user's Recv(AnySource, AnyTag) never takes it. Ranks of different
// regions may be joined by several TCP streams (Config.Streams); a view
// from Stream sends on one of them, and its messages keep their order
// among themselves but may overtake those sent on another stream.
//
// # Buffers
//
// Sends are eager: Send returns once the data is handed to the kernel, and
// the buffer may be reused. Isend and Irecv own their buffer until the
// request completes. Typed slices of fixed-size numbers travel as their
// memory (Bytes); byte order is checked at the handshake.
//
// # Failure
//
// A lost peer fails every pending operation involving it with a
// *PeerError naming the operation, the peer's rank and its address; later
// operations with it fail at once. A receive from AnySource fails when a
// peer of its communicator was lost. Every blocking call takes a context
// and gives up when it ends. Close flushes what was sent and waits for the
// peers' goodbye, so a rank that exits right after Send loses nothing.
// Abort ends the whole job.
//
// # Testing
//
// Local runs n ranks inside one process over loopback TCP, with the same
// transport and handshake as a real job; package commtest wraps it for
// tests.
package comm
