package snapshot_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/snapshot"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fixSum rewrites the checksum of a file (CRC-32C of all bytes before the
// last four, little-endian), so that a test can corrupt the structure
// behind it.
func fixSum(b []byte) {
	if len(b) < 4 {
		return
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
}

// layout gives the offsets of a file's parts (docs/snapshot.md).
type layout struct {
	nameCount, tupleCount, tuples int // offsets of the counts and of tuple 0
	nTuples                       int
	v4Count, v6Count              int // offsets of each family's segment count
	feedSetCount                  int // offset of the feed layer's set count
}

func parseLayout(t testing.TB, b []byte) layout {
	t.Helper()
	u32 := func(o int) int { return int(binary.LittleEndian.Uint32(b[o:])) }
	var l layout
	l.nameCount = 16 + u32(12)
	nNames := u32(l.nameCount)
	offs := l.nameCount + 4
	blob := u32(offs + 4*nNames)
	l.tupleCount = offs + 4*(nNames+1) + blob
	l.nTuples = u32(l.tupleCount)
	l.tuples = l.tupleCount + 4
	l.v4Count = l.tuples + 12*l.nTuples
	nb := u32(l.v4Count + 4)
	dataLen := int(binary.LittleEndian.Uint64(b[l.v4Count+8+8*nb:]))
	l.v6Count = l.v4Count + 8 + 8*nb + 8 + dataLen
	nb6 := u32(l.v6Count + 4)
	dataLen6 := int(binary.LittleEndian.Uint64(b[l.v6Count+8+20*nb6:]))
	feeds := l.v6Count + 8 + 20*nb6 + 8 + dataLen6
	nStrs := u32(feeds)
	strBlob := u32(feeds + 4 + 4*nStrs)
	entries := feeds + 4 + 4*(nStrs+1) + strBlob
	l.feedSetCount = entries + 4 + 42*u32(entries)
	return l
}

// probe is a set of addresses that touch every part of the test tables.
var probe = func() []netip.Addr {
	var out []netip.Addr
	for _, s := range []string{
		"0.0.0.0", "1.0.0.1", "1.0.16.5", "1.0.200.1", "3.0.0.1", "4.0.1.1", "8.8.8.8", "8.8.9.200", "9.255.255.1",
		"10.0.0.1", "3.0.0.1", "255.255.255.255", "::", "2a00:1450::1", "2a00:1450:4001::1", "2a00:1451::",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	} {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}()

type answer struct {
	Route string
	Key   int
	OK    bool
}

func answers(tb *snapshot.Table, addrs []netip.Addr) []answer {
	var out []answer
	for _, a := range addrs {
		r, k, ok := tb.Lookup(a)
		out = append(out, answer{fmt.Sprint(r), k, ok})
	}
	return out
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	for name, tb := range map[string]*snapshot.Table{
		"lookup table": lookupTable(t),
		"empty":        buildT(t),
		"long runs": buildT(t,
			asn4(lines("1.0.0.0,1.0.255.255,100,Long")),
			loc6(lines(v6LocLines(200)...)),
		),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := encode(t, tb)
			back := decode(t, file)
			if diff := cmp.Diff(tb.Meta(), back.Meta()); diff != "" {
				t.Errorf("Meta mismatch after Decode (-before +after):\n%s", diff)
			}
			if again := encode(t, back); !slices.Equal(file, again) {
				t.Errorf("Encode(Decode(file)) differs from file (%d and %d bytes)", len(file), len(again))
			}
			v4, v6 := tb.Segments()
			bv4, bv6 := back.Segments()
			if v4 != bv4 || v6 != bv6 || tb.Keys() != back.Keys() || tb.Size() != back.Size() || back.Size() != len(file) {
				t.Errorf("after Decode: Segments() = %d, %d, Keys() = %d, Size() = %d; before: %d, %d, %d, %d (file %d bytes)",
					bv4, bv6, back.Keys(), back.Size(), v4, v6, tb.Keys(), tb.Size(), len(file))
			}
			if diff := cmp.Diff(answers(tb, probe), answers(back, probe)); diff != "" {
				t.Errorf("lookups mismatch after Decode (-before +after):\n%s", diff)
			}
			if err := back.Expand(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(answers(tb, probe), answers(back, probe)); diff != "" {
				t.Errorf("lookups mismatch after Decode and Expand (-before +after):\n%s", diff)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	file := encode(t, lookupTable(t))
	dir := t.TempDir()
	good := filepath.Join(dir, "good.snap")
	must(t, os.WriteFile(good, file, 0o644))
	tb, err := snapshot.Load(good)
	if err != nil {
		t.Fatalf("Load(%s): %v", good, err)
	}
	if diff := cmp.Diff(answers(decode(t, file), probe), answers(tb, probe)); diff != "" {
		t.Errorf("Load lookups mismatch (-want +got):\n%s", diff)
	}
	bad := filepath.Join(dir, "bad.snap")
	must(t, os.WriteFile(bad, file[:len(file)-1], 0o644))
	if _, err := snapshot.Load(bad); !errors.Is(err, snapshot.ErrCorrupt) || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load(truncated) = %v, want an error naming the file and wrapping ErrCorrupt", err)
	}
	if _, err := snapshot.Load(filepath.Join(dir, "missing.snap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

// isRefusal reports whether err is how Decode refuses a file: an error
// wrapping ErrCorrupt, or the message for another format version.
func isRefusal(err error) bool {
	return errors.Is(err, snapshot.ErrCorrupt) || strings.Contains(err.Error(), "is not supported")
}

func TestDecodeCorrupt(t *testing.T) {
	t.Parallel()
	file := encode(t, lookupTable(t))
	t.Run("truncated", func(t *testing.T) {
		t.Parallel()
		for n := range len(file) {
			_, err := snapshot.Decode(slices.Clone(file[:n]))
			if err == nil || !errors.Is(err, snapshot.ErrCorrupt) {
				t.Errorf("Decode(first %d of %d bytes) = %v, want an error wrapping ErrCorrupt", n, len(file), err)
			}
		}
	})
	t.Run("extended", func(t *testing.T) {
		t.Parallel()
		for _, extra := range []string{"\x00", "junk", string(file[len(file)-4:])} {
			b := append(slices.Clone(file), extra...)
			if _, err := snapshot.Decode(b); err == nil || !errors.Is(err, snapshot.ErrCorrupt) {
				t.Errorf("Decode(file+%q) = %v, want an error wrapping ErrCorrupt", extra, err)
			}
		}
	})
	t.Run("one byte flipped", func(t *testing.T) {
		t.Parallel()
		for i := range file {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				b := slices.Clone(file)
				b[i] ^= x
				_, err := snapshot.Decode(b)
				if err == nil || !isRefusal(err) {
					t.Errorf("Decode(file with byte %d ^ %#x) = %v, want a refusal", i, x, err)
				}
				if err != nil && i >= 12 && !errors.Is(err, snapshot.ErrCorrupt) {
					t.Errorf("Decode(file with byte %d ^ %#x) = %v, want an error wrapping ErrCorrupt", i, x, err)
				}
			}
		}
	})
	tests := []struct {
		name    string
		edit    func([]byte) []byte
		wantMsg string
		corrupt bool // wraps ErrCorrupt
	}{
		{"nil", func([]byte) []byte { return nil }, "bad magic", true},
		{"empty", func([]byte) []byte { return []byte{} }, "bad magic", true},
		{"magic only", func(b []byte) []byte { return b[:8] }, "too short", true},
		{"wrong magic", func(b []byte) []byte { b[0] = 'X'; fixSum(b); return b }, "bad magic", true},
		{"lower-case magic", func(b []byte) []byte { copy(b, "sovmapdb"); return b }, "bad magic", true},
		{"another file", func([]byte) []byte { return []byte("PK\x03\x04 not a snapshot at all, a zip") }, "bad magic", true},
		{"version 2", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 2); fixSum(b); return b }, "snapshot format version 2 is not supported (this sovmap reads version 1)", false},
		{"version 0", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 0); return b }, "snapshot format version 0 is not supported", false},
		{"checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "checksum mismatch", true},
		{"header length", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 1<<30); fixSum(b); return b }, "header runs past the end", true},
		{"header json", func(b []byte) []byte { b[16] = '['; fixSum(b); return b }, "header", true},
		{"no names", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[parseLayout(t, b).nameCount:], 0)
			fixSum(b)
			return b
		}, "bad name count", true},
		{"tuple names a missing name", func(b []byte) []byte {
			l := parseLayout(t, b)
			binary.LittleEndian.PutUint32(b[l.tuples+12+4:], 1<<20)
			fixSum(b)
			return b
		}, "missing AS name", true},
		{"no tuples", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[parseLayout(t, b).tupleCount:], 0)
			fixSum(b)
			return b
		}, "bad tuple count", true},
		{"no IPv4 segments", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[parseLayout(t, b).v4Count:], 0)
			fixSum(b)
			return b
		}, "bad segment counts", true},
		{"IPv6 block count", func(b []byte) []byte {
			l := parseLayout(t, b)
			binary.LittleEndian.PutUint32(b[l.v6Count+4:], 2)
			fixSum(b)
			return b
		}, "bad segment counts", true},
		{"IPv4 directory not from zero", func(b []byte) []byte {
			l := parseLayout(t, b)
			binary.LittleEndian.PutUint32(b[l.v4Count+8:], 1)
			fixSum(b)
			return b
		}, "bad segment directory", true},
		{"trailing data", func(b []byte) []byte {
			b = append(b[:len(b)-4:len(b)-4], "\x00\x00\x00\x00\x00"...)
			fixSum(b)
			return b
		}, "trailing data", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := tc.edit(slices.Clone(file))
			tb, err := snapshot.Decode(b)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) || errors.Is(err, snapshot.ErrCorrupt) != tc.corrupt {
				t.Errorf("Decode = %v, %v; want an error containing %q (wrapping ErrCorrupt: %v)", tb, err, tc.wantMsg, tc.corrupt)
			}
		})
	}
}

// use exercises a decoded table the way a caller would, lazily and
// expanded, and reports a panic as an error.
func use(tb *snapshot.Table) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	look := func() error {
		prefixes, keys := make([]netip.Prefix, len(probe)), make([]int, len(probe))
		tb.LookupKeys(probe, prefixes, keys)
		for i, a := range probe {
			_, k, ok := tb.Lookup(a)
			p2, k2, ok2 := tb.LookupKey(a)
			k3, ok3 := tb.RouteKey(a)
			if k2 != k || k3 != k || ok2 != ok || ok3 != ok {
				return fmt.Errorf("%s: Lookup key %d %v, LookupKey %d %v, RouteKey %d %v", a, k, ok, k2, ok2, k3, ok3)
			}
			if !ok2 {
				k2 = -1
			}
			if keys[i] != k2 || prefixes[i] != p2 {
				return fmt.Errorf("%s: LookupKeys %v %d, LookupKey %v %d", a, prefixes[i], keys[i], p2, k2)
			}
		}
		return nil
	}
	if err := look(); err != nil {
		return err
	}
	_ = tb.Meta()
	if tb.Expand() == nil {
		return look()
	}
	return nil
}

// TestDecodeCraftedChecksum corrupts every byte of a file behind a valid
// checksum, as a malicious or buggy writer could: Decode must refuse the
// file or return a table that works without panicking.
func TestDecodeCraftedChecksum(t *testing.T) {
	t.Parallel()
	file := encode(t, lookupTable(t))
	flips := []byte{0x01, 0x02, 0x10, 0x80, 0xff}
	if testing.Short() {
		flips = []byte{0xff}
	}
	failures := 0
	for i := range len(file) - 4 {
		for _, x := range flips {
			b := slices.Clone(file)
			b[i] ^= x
			fixSum(b)
			var tb *snapshot.Table
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("Decode panicked: %v", p)
					}
				}()
				tb, err = snapshot.Decode(b)
			}()
			if err == nil {
				err = use(tb)
			} else if isRefusal(err) {
				err = nil
			}
			if err != nil {
				t.Errorf("file with byte %d ^ %#x (checksum fixed): %v", i, x, err)
				if failures++; failures >= 10 {
					t.Fatal("too many failures")
				}
			}
		}
	}
}

// TestDecodeRejectsBadCountryIndex: a tuple's country must be an index of
// the country table. Decode checks the tuples' name indexes but not their
// country indexes, so a file with a valid checksum and a country index
// past the table decodes, and its first lookup of that tuple panics.
func TestDecodeRejectsBadCountryIndex(t *testing.T) {
	t.Parallel()
	file := encode(t, lookupTable(t))
	l := parseLayout(t, file)
	for _, field := range []struct {
		name string
		off  int
	}{{"registration", 8}, {"location", 10}} {
		for _, v := range []uint16{1 + 26*26, 0xffff} {
			t.Run(fmt.Sprintf("%s=%d", field.name, v), func(t *testing.T) {
				t.Parallel()
				b := slices.Clone(file)
				for k := 1; k < l.nTuples; k++ { // every tuple but "nothing known"
					binary.LittleEndian.PutUint16(b[l.tuples+12*k+field.off:], v)
				}
				fixSum(b)
				tb, err := snapshot.Decode(b)
				if err == nil {
					if uerr := use(tb); uerr != nil {
						t.Fatalf("Decode accepted the file, then Lookup failed: %v", uerr)
					}
				}
				if !errors.Is(err, snapshot.ErrCorrupt) {
					t.Errorf("Decode(tuple %s index %d) = %v, want an error wrapping ErrCorrupt", field.name, v, err)
				}
			})
		}
	}
}

// TestDecodeRejectsEmptyFeedSet: every feed set but set 0 ("no feed")
// must hold an entry. Decode does not check this, so a file with a valid
// checksum whose set 1 is empty decodes, and a lookup of an address that
// the feed layer maps to set 1 and the routing layer knows nothing of
// panics (Lookup takes the prefix of the set's first hit).
func TestDecodeRejectsEmptyFeedSet(t *testing.T) {
	t.Parallel()
	b := snapshot.NewBuilder(snapshot.Meta{Name: "feeds"})
	b.AddFeed(snapshot.FeedSource{Name: "aws", Provider: "amazon"}, []attribution.FeedRange{
		{Prefix: netip.MustParsePrefix("3.0.0.0/24"), Region: "us-east-1", Service: "EC2"},
	})
	tb, _, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("3.0.0.1")
	r, key, ok := tb.Lookup(addr)
	if !ok || len(r.Feeds) != 1 || r.Prefix != netip.MustParsePrefix("3.0.0.0/24") || r.Feeds[0].Region != "us-east-1" {
		t.Fatalf("Lookup(%s) = %+v, %d, %v; want the feed's range", addr, r, key, ok)
	}
	file := encode(t, tb)
	l := parseLayout(t, file)
	if n := binary.LittleEndian.Uint32(file[l.feedSetCount:]); n != 2 {
		t.Fatalf("feed set count = %d, want 2 (none, the range)", n)
	}
	// Offsets 0, 0, 1 (set 0 empty, set 1 = entry 0) become 0, 1, 1.
	bad := slices.Clone(file)
	binary.LittleEndian.PutUint32(bad[l.feedSetCount+4+4:], 1)
	fixSum(bad)
	tb, err = snapshot.Decode(bad)
	if err == nil {
		if uerr := use(tb); uerr != nil {
			t.Fatalf("Decode accepted the file, then Lookup failed: %v", uerr)
		}
	}
	if !errors.Is(err, snapshot.ErrCorrupt) {
		t.Errorf("Decode(empty feed set) = %v, want an error wrapping ErrCorrupt", err)
	}
}

// FuzzDecode feeds Decode arbitrary files: it must refuse them or return a
// table whose lookups, expansion and encoding work. With fix set, the
// fuzzer's bytes get a valid checksum, so that it explores the structure
// behind the checksum.
func FuzzDecode(f *testing.F) {
	b := snapshot.NewBuilder(snapshot.Meta{Name: "fuzz"})
	for _, x := range []input{
		asn4(lines("1.0.0.0,1.0.255.255,100,Outer", "1.0.16.0,1.0.16.255,200,Inner")),
		reg4(lines("1.0.0.0,1.0.3.255,AU")),
		asn6(lines("2a00:1450::,2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC")),
	} {
		if err := b.AddFile(x.ds, x.name, strings.NewReader(x.csv)); err != nil {
			f.Fatal(err)
		}
	}
	b.AddFeed(snapshot.FeedSource{Name: "aws", Provider: "amazon"}, []attribution.FeedRange{
		{Prefix: netip.MustParsePrefix("1.0.0.0/24"), Region: "ap-southeast-2", Country: "AU"},
		{Prefix: netip.MustParsePrefix("3.0.0.0/24"), Region: "us-east-1", Service: "EC2"},
		{Prefix: netip.MustParsePrefix("2a00:1450:4001::/48"), Region: "eu-west-1"},
	})
	tb, _, err := b.Build()
	if err != nil {
		f.Fatal(err)
	}
	small := encode(f, tb)
	f.Add(small, false)                                  // valid
	f.Add(small, true)                                   // valid
	f.Add(small[:len(small)/2], false)                   // truncated
	f.Add(small[:len(small)-1], true)                    // truncated, checksum fixed
	f.Add([]byte("SOVMAPDB"), false)                     // magic only
	f.Add([]byte("SOVMAPDB\x02\x00\x00\x00xxxx"), false) // another version
	for _, i := range []int{3, 10, 20, len(small) / 2, len(small) - 30, len(small) - 2} {
		b := slices.Clone(small)
		b[i] ^= 0x55
		f.Add(b, false) // one byte flipped
		f.Add(b, true)  // one byte flipped, checksum fixed
	}
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			fixSum(b)
		}
		tb, err := snapshot.Decode(b)
		if err != nil {
			if !isRefusal(err) {
				t.Fatalf("Decode error %v neither wraps ErrCorrupt nor names the version", err)
			}
			return
		}
		for _, a := range probe {
			r, k, ok := tb.Lookup(a)
			// Keys past Keys() identify feed hits too.
			if ok && (k < 0 || (len(r.Feeds) == 0 && k >= tb.Keys()) || !r.Prefix.Contains(a.Unmap())) {
				t.Fatalf("Lookup(%s) = %v, %d, %v: key out of range or prefix not holding the address", a, r, k, ok)
			}
		}
		_ = tb.Expand()
		for _, a := range probe {
			tb.Lookup(a)
		}
		var buf strings.Builder
		if err := tb.Encode(&buf); err != nil || buf.String() != string(b) {
			t.Fatalf("Encode(Decode(b)) = %d bytes, %v; want b back", buf.Len(), err)
		}
	})
}
