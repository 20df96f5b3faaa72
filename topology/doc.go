// Package topology will hold pure data about a job's placement: hosts,
// slots, regions, rank placement, region leaders and lanes, the cost
// model, and hostfile parsing (see hostfile.example). It imports nothing
// of this module and does no I/O beyond parsing a reader.
package topology
