// Package launcher starts SPMD jobs, on this machine (Run) or on hosts
// over SSH (RunHosts, with a proxy per host: spmdrun itself, which forks
// that host's ranks; see docs/security.md and docs/failure.md). Locally
// it forks the ranks, hands each its
// part of the job over an inherited control socket (job id, rank, the
// 32-byte secret — never argv or the environment), relays the address
// table, forwards standard output and error line by line, and turns the
// ranks' endings into one exit status.
//
// # Exit status
//
// Run returns 0 when every rank exits 0. Otherwise it returns the status
// of the rank that failed on its own (128+n for a rank killed by signal
// n); ranks the launcher terminated do not count, and when several ranks
// failed on their own, the lowest rank decides. A rank failed on its own
// if it ended before the launcher signalled it, even when the launcher
// learns of its end after another's. A rank calling Abort(code)
// ends the job with code. A job that reaches its timeout ends with 124; a
// job interrupted by SIGINT or SIGTERM with 128 plus that signal.
//
// When one rank fails, the others get SIGTERM and, after a grace period,
// SIGKILL. Each rank runs in its own process group, and every group is
// killed when the job ends, so no process of the job outlives it (short of
// one that leaves its group with setsid). If the launcher itself dies,
// even by SIGKILL, the ranks die with it: the kernel signals them (parent
// death signal) and each rank exits when its control socket closes.
package launcher
