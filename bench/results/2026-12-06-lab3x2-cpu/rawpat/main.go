// Command rawpat moves a collective's traffic pattern over plain TCP, with
// no spmd in the way, to see what the lab itself delivers: each lab host
// runs one rawpat, which connects to its targets, optionally sends a
// warm-up on each connection (so that BBR has measured the path), waits
// for a shared start instant, sends n bytes to every target at once and
// prints how long after the start it had received everything it expects.
// Run by rawpat.sh in this directory.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// soMaxPacingRate is SO_MAX_PACING_RATE (linux/asm-generic/socket.h).
const soMaxPacingRate = 47

func main() {
	me := flag.String("me", "", "own address to listen on")
	to := flag.String("to", "", "comma-separated addresses to send to")
	expect := flag.Int("expect", 0, "number of hosts that send to this one")
	n := flag.Int("n", 4<<20, "bytes per target")
	at := flag.Int64("at", 0, "start instant, Unix nanoseconds")
	warm := flag.Int("warm", 0, "bytes of warm-up on each connection before the start")
	pace := flag.Float64("pace", 0, "SO_MAX_PACING_RATE of each connection in Mbit/s (0: none)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("rawpat " + *me + ": ")
	ln, err := net.Listen("tcp", *me+":7777")
	if err != nil {
		log.Fatal(err)
	}
	start := time.Unix(0, *at)
	done := make(chan time.Duration, *expect)
	go func() {
		for range *expect {
			c, err := ln.Accept()
			if err != nil {
				log.Fatal(err)
			}
			go func() {
				if _, err := io.ReadFull(c, make([]byte, *warm)); err != nil {
					log.Fatal("warm-up: ", err)
				}
				got, err := io.Copy(io.Discard, c)
				if err != nil || got != int64(*n) {
					log.Fatalf("received %d of %d bytes: %v", got, *n, err)
				}
				done <- time.Since(start)
			}()
		}
	}()
	var conns []*net.TCPConn
	for _, t := range strings.Split(*to, ",") {
		if t == "" {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		var c net.Conn
		for c, err = net.Dial("tcp", t+":7777"); err != nil; c, err = net.Dial("tcp", t+":7777") {
			if time.Now().After(deadline) {
				log.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		tc := c.(*net.TCPConn)
		if *pace > 0 {
			raw, err := tc.SyscallConn()
			if err != nil {
				log.Fatal(err)
			}
			var serr error
			if err := raw.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soMaxPacingRate, int(*pace*1e6/8))
			}); err != nil || serr != nil {
				log.Fatal("SO_MAX_PACING_RATE: ", err, serr)
			}
		}
		conns = append(conns, tc)
	}
	send := func(b []byte, close bool) {
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() {
				if _, err := c.Write(b); err != nil {
					log.Fatal(err)
				}
				if close {
					c.CloseWrite()
				}
			})
		}
		wg.Wait()
	}
	if *warm > 0 {
		send(make([]byte, *warm), false)
	}
	if time.Now().After(start) {
		log.Fatal("the warm-up ran past the start instant: give more lead time")
	}
	time.Sleep(time.Until(start))
	send(make([]byte, *n), true)
	var last time.Duration
	for range *expect {
		last = max(last, <-done)
	}
	if *expect > 0 {
		fmt.Printf("%s %d ms\n", *me, last.Milliseconds())
	}
}
