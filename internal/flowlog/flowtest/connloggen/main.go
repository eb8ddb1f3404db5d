// Command connloggen writes the synthetic Zeek conn.log that the flows
// benchmarks read, at any size, so that "sovmap flows" can be timed as a
// process on the same data:
//
//	go run ./internal/flowlog/flowtest/connloggen -n 2500000 -zipf 1.1 > conn.log
//	go run ./internal/flowlog/flowtest/connloggen -n 2500000 -json > conn.json
//	/usr/bin/time sovmap flows --json conn.log > /dev/null
//
// Connections go from local 10.0.0.0/8 hosts to a pool of public IPv4
// addresses spread over the whole address space, drawn evenly or, with
// -zipf, by Zipf's law.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"

	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

func main() {
	n := flag.Int("n", 500_000, "connections to write")
	pool := flag.Int("remotes", 100_000, "size of the pool of remote addresses")
	zipf := flag.Float64("zipf", 0, "draw remotes by Zipf's law with this exponent (> 1); 0 draws them evenly")
	asJSON := flag.Bool("json", false, "write JSON lines instead of TSV")
	seed := flag.Uint64("seed", 7, "random seed")
	flag.Parse()
	if *n < 0 || *pool < 1 || *zipf != 0 && *zipf <= 1 {
		fmt.Fprintln(os.Stderr, "connloggen: -n must be at least 0, -remotes at least 1, and -zipf more than 1")
		os.Exit(2)
	}
	remotes := flowtest.RemoteAddrs(*pool, *seed)
	if *zipf != 0 {
		z := rand.NewZipf(rand.New(rand.NewPCG(*seed, *seed)), *zipf, 1, uint64(len(remotes)-1))
		draws := make([]netip.Addr, min(*n, 500_000))
		for i := range draws {
			draws[i] = remotes[z.Uint64()]
		}
		remotes = draws
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	const chunk = 500_000
	for k, done := 0, 0; done < *n; k++ {
		m := min(chunk, *n-done)
		data := flowtest.ConnLog(m, remotes, *seed+uint64(k), *asJSON)
		if k > 0 && !*asJSON {
			data = data[len(flowtest.ConnLogHeader):]
		}
		if _, err := w.Write(data); err != nil {
			fmt.Fprintln(os.Stderr, "connloggen:", err)
			os.Exit(1)
		}
		done += m
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "connloggen:", err)
		os.Exit(1)
	}
}
