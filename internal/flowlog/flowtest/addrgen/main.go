// Command addrgen writes n distinct public IPv4 addresses, drawn uniformly
// from the address space outside the special-use ranges, one per line: a
// reproducible sample of the routing table for 'sovmap ip'.
//
//	go run ./internal/flowlog/flowtest/addrgen -n 100000 > addrs.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

func main() {
	n := flag.Int("n", 100_000, "addresses to write")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	w := bufio.NewWriter(os.Stdout)
	for _, a := range flowtest.RemoteAddrs(*n, *seed) {
		fmt.Fprintln(w, a)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "addrgen:", err)
		os.Exit(1)
	}
}
