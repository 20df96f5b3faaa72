// Package lab is the WAN lab behind cmd/spmdlab: an emulated multi-region
// cluster on one Linux machine (see DESIGN.md, "The WAN lab"). It is being
// built in steps; what is here now is pure and needs no root:
//
//   - plan.go: parsing the regions, delays and bandwidths of
//     `spmdlab up` and laying out addresses in 198.18.0.0/15;
//   - delayline.go: the emulator's core, which releases each packet
//     between two regions after that pair's serialization time on a shared
//     link and its one-way delay, with a bounded queue;
//   - runner.go: Emulator.Run, which moves packets from a device (the TUN
//     device in the lab; an in-memory fake in tests) through the emulator
//     and back, telling regions by address.
//
// Still to come (issue 4): the network namespaces, bridges and policy
// routing, the TUN device that feeds the emulator, per-host tbf caps, an
// sshd per host, fault injection, and the command.
package lab
