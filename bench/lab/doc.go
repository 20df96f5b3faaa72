// Package lab is the WAN lab behind cmd/spmdlab: an emulated multi-region
// cluster on one Linux machine (see DESIGN.md, "The WAN lab", and
// docs/lab.md). The pure parts need no root and are unit-tested:
//
//   - plan.go: parsing the regions and delays of `spmdlab up` and laying
//     out addresses in 198.18.0.0/15;
//   - delayline.go: the emulator's core, which releases each packet
//     between two regions after that pair's serialization time on a shared
//     link and its one-way delay, with a bounded queue, and can cut regions
//     off or change delays at run time;
//   - runner.go: Emulator.Run, which moves packets from a device (the TUN
//     device in the lab; an in-memory fake in tests) through the emulator
//     and back, telling regions by address.
//
// The rest builds and runs the lab and needs root (Linux only): up.go
// (namespaces, bridges, policy routing, tbf caps, keys, one sshd per
// host), helper.go (what the spmdlab binary does inside a namespace: set
// sysctls, run the emulator daemon and its control socket, give a host
// its private home and /tmp), ops.go (down, kill, partition, heal, slow,
// exec, status) and tun.go. cmd/spmdlab's test brings a lab up and down.
package lab
