// Package bench will hold the benchmark library (sizes, the synchronized-
// start timing method, the lower-bound model, reports and plots) and the
// WAN lab; see DESIGN.md and the spmdbench and spmdlab issues. For now it
// holds the Open MPI side-by-side scripts: pingpong-vs-openmpi.sh compares
// examples/pingpong with the C program in openmpi/.
package bench
