package ipindex_test

import (
	"fmt"
	"net/netip"

	"github.com/sovmap/sovmap/internal/ipindex"
)

// A table of three segments that cover the IPv4 space: nothing known up to
// 47.87.255.255, 47.88.0.0/16 with the value 1 (a record number in the
// snapshot, say), and nothing known after it. A lookup returns the value of
// the segment that holds the address; LargestPrefix4 gives the prefix to
// report for it.
func ExampleV4_Lookup() {
	u32 := func(s string) uint32 { return ipindex.AddrU32(netip.MustParseAddr(s)) }
	t, err := ipindex.NewV4(
		[]uint32{0, u32("47.88.0.0"), u32("47.89.0.0")},
		[]uint32{0, 1, 0},
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{"47.88.1.1", "8.8.8.8"} {
		a := u32(s)
		i := t.Find(a)
		first, _ := t.Segment(i)
		last := ^uint32(0)
		if i+1 < t.Len() {
			next, _ := t.Segment(i + 1)
			last = next - 1
		}
		fmt.Printf("%s: value %d, in %s\n", s, t.Lookup(a), ipindex.LargestPrefix4(a, first, last))
	}
	// Output:
	// 47.88.1.1: value 1, in 47.88.0.0/16
	// 8.8.8.8: value 0, in 0.0.0.0/3
}
