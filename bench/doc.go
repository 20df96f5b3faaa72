// Package bench is the benchmark library: message-size ladders, the
// OSU-style timing loop (OSU), the operations spmdbench runs (Call), and,
// to come with the spmdbench and spmdlab issues, the synchronized-start
// method, the lower-bound model, reports, plots and the WAN lab.
//
// Side-by-side scripts with Open MPI live beside it:
// pingpong-vs-openmpi.sh (point-to-point) and coll-vs-openmpi.sh
// (collectives), each with its C harness in openmpi/.
package bench
