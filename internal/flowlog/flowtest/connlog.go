package flowtest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
)

// ConnLogHeader is the header of a Zeek conn.log (the 21 fields of Zeek 3
// to 6).
const ConnLogHeader = "#separator \\x09\n" +
	"#set_separator\t,\n" +
	"#empty_field\t(empty)\n" +
	"#unset_field\t-\n" +
	"#path\tconn\n" +
	"#open\t2026-06-01-12-00-00\n" +
	"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"

// RemoteAddrs returns n distinct public IPv4 addresses drawn uniformly
// from the address space outside the special-use ranges, so that lookups
// spread over the whole routing table.
func RemoteAddrs(n int, seed uint64) []netip.Addr {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	seen := make(map[netip.Addr]bool, n)
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		v := rng.Uint32()
		a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if special(a) || seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out
}

// SpreadAddrs returns n addresses drawn over the whole IPv4 space, special
// ranges included, and one in ten from 2400::/8 (Asia-Pacific IPv6 space):
// look-ups that spread over the routing table as real input does, for the
// ip and policy benchmarks and cache tests. The same n gives the same
// addresses.
func SpreadAddrs(n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]netip.Addr, n)
	for i := range out {
		if i%10 == 9 {
			var b [16]byte
			b[0], b[1] = 0x24, byte(rng.IntN(256))
			for j := 2; j < 8; j++ {
				b[j] = byte(rng.IntN(256))
			}
			out[i] = netip.AddrFrom16(b)
			continue
		}
		v := rng.Uint32()
		out[i] = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return out
}

func special(a netip.Addr) bool {
	b := a.As4()
	switch {
	case b[0] == 0, b[0] == 10, b[0] == 127, b[0] >= 224:
		return true
	case b[0] == 100 && b[1]&0xc0 == 64, b[0] == 169 && b[1] == 254, b[0] == 172 && b[1]&0xf0 == 16,
		b[0] == 192 && b[1] == 168, b[0] == 192 && b[1] == 0, b[0] == 198 && b[1]&0xfe == 18,
		b[0] == 198 && b[1] == 51 && b[2] == 100, b[0] == 203 && b[1] == 0 && b[2] == 113:
		return true
	}
	return false
}

// ConnLog returns a synthetic Zeek conn.log of n connections from local
// 10.0.0.0/8 hosts to the given remote addresses (cycled in a random order),
// as TSV with its header or, if asJSON, as JSON lines. Its lines look like
// real ones: 21 fields, about 150 bytes in TSV and 380 in JSON.
func ConnLog(n int, remotes []netip.Addr, seed uint64, asJSON bool) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	var b []byte
	if !asJSON {
		b = append(b, ConnLogHeader...)
	}
	services := []string{"ssl", "dns", "http", "-", "ssh"}
	states := []string{"SF", "S0", "RSTO", "SF", "SF"}
	const uidChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	ts := int64(1780000000)
	for i := range n {
		ts += int64(rng.IntN(3))
		usec := rng.IntN(1000000)
		var uid [18]byte
		uid[0] = 'C'
		for k := 1; k < len(uid); k++ {
			uid[k] = uidChars[rng.IntN(len(uidChars))]
		}
		orig := netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		resp := remotes[rng.IntN(len(remotes))]
		oport, rport := 1024+rng.IntN(64000), []int{443, 53, 80, 22, 8443}[i%5]
		svc, state := services[i%5], states[rng.IntN(5)]
		proto := "tcp"
		if svc == "dns" {
			proto = "udp"
		}
		dur := float64(rng.IntN(5000000)) / 1e6
		ob, rb := rng.IntN(5000), rng.IntN(200000)
		op, rp := 1+rng.IntN(50), 1+rng.IntN(200)
		oip, rip := ob+40*op, rb+40*rp
		if asJSON {
			s := svc
			if s == "-" {
				s = ""
			}
			b = fmt.Appendf(b, `{"ts":%d.%06d,"uid":"%s","id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":%d,"proto":"%s",`,
				ts, usec, uid[:], orig, oport, resp, rport, proto)
			if s != "" {
				b = fmt.Appendf(b, `"service":"%s",`, s)
			}
			b = fmt.Appendf(b, `"duration":%s,"orig_bytes":%d,"resp_bytes":%d,"conn_state":"%s","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf","orig_pkts":%d,"orig_ip_bytes":%d,"resp_pkts":%d,"resp_ip_bytes":%d}`+"\n",
				strconv.FormatFloat(dur, 'f', 6, 64), ob, rb, state, op, oip, rp, rip)
			continue
		}
		b = fmt.Appendf(b, "%d.%06d\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%.6f\t%d\t%d\t%s\tT\tF\t0\tShADadFf\t%d\t%d\t%d\t%d\t-\n",
			ts, usec, uid[:], orig, oport, resp, rport, proto, svc, dur, ob, rb, state, op, oip, rp, rip)
	}
	return b
}
