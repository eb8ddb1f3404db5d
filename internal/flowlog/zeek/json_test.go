package zeek

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// jsonLines returns the generated conn.log lines that TestJSONFastPath and
// FuzzJSONFastPath start from.
func jsonLines(n int) [][]byte {
	data := flowtest.ConnLog(n, flowtest.RemoteAddrs(500, 9), 9, true)
	return bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'})
}

// oddJSONLines returns lines of unusual shapes made from line, a generated
// conn.log line: each member's value replaced by odd values, members
// dropped, repeated, moved and added, whitespace, escapes, every prefix,
// and single bytes replaced.
func oddJSONLines(line []byte) []string {
	// The generated values hold no commas, so the members split on them.
	members := strings.Split(strings.TrimSuffix(strings.TrimPrefix(string(line), "{"), "}"), ",")
	join := func(ms []string) string { return "{" + strings.Join(ms, ",") + "}" }
	keyOf := func(m string) string { return m[:strings.Index(m, ":")] }
	var out []string
	values := []string{
		`null`, `true`, `false`, `{}`, `[]`, `{"a":[1,{"b":"}"}]}`, `["x","]"]`, `""`, `"x"`, `"\""`, `"\u0034"`,
		`0`, `-0`, `1`, `-1`, `+1`, `01`, `0443`, `1.0`, `1.`, `.5`, `1e3`, `1E3`, `1.5e9`, `1e`, `--`, `1-2`,
		`65535`, `65536`, `255`, `"443"`, `"0x1bb"`, `0x1bb`,
		`1780000000`, `1780000000.1234567891`, `1780000000.`, `1099511627776`, `1099511627777`, `99999999999999999`,
		`0.06685185432434082`, `1.1234567`, `1.12345678`, `1.123456789`, `1.1234567891`, `1.12345678901234567`, `1.1234567890123456789012345`,
		`1.00000000`, `12345678`, `12345678.5`, `123456789012345678.5`, `1234567890123456789.5`, `1.123456789e5`, `1.12345678.9`,
		`9223372035.5`, `9223372034.5`, `1234567890123456789`, `12345678901234567890`, `18446744073709551615`, `18446744073709551616`,
		`"2018-03-24T17:15:20.615923Z"`, `"2018-03-24T17:15:20"`, `"1780000000.5"`,
		`"10.0.0.1"`, `"1.2.3.4"`, `"0.0.0.0"`, `"255.255.255.255"`, `"1.2.3.04"`, `"01.2.3.4"`, `"1.2.3"`, `"1.2.3.4.5"`,
		`"256.1.1.1"`, `"1.2.3.256"`, `"1.2.3.4 "`, `" 1.2.3.4"`, `"1.2.3.1000"`, `"1.2.3.\u0034"`, `"1.2.3.\u00345"`, `"1.2.3.4\\"`,
		`"2a00:1450:4001:81c::200e"`, `"::ffff:8.8.8.8"`, `"::"`, `"fe80::1%eth0"`, `"1::2::3"`,
		`"tcp"`, `"TCP"`, `"udp"`, `"icmp"`, `"6"`, `"bogus"`, `6`, `"t\u0063p"`, `"ssl"`, `"d\u006es"`, `"dns✓"`, `"SF"`, `"S\"0"`,
		`"` + strings.Repeat("x", 70) + `"`, `"\\\\"`, `"\/"`,
	}
	for k := range members {
		key := keyOf(members[k])
		for _, v := range values {
			ms := slices.Clone(members)
			ms[k] = key + ":" + v
			out = append(out, join(ms))
		}
		// Dropped.
		out = append(out, join(slices.Delete(slices.Clone(members), k, k+1)))
		// Repeated, next to itself, at the end, and with another value.
		ms := slices.Insert(slices.Clone(members), k, members[k])
		out = append(out, join(ms), join(append(slices.Clone(members), members[k])))
		out = append(out, join(append(slices.Clone(members), key+`:null`)), join(append(slices.Clone(members), key+`:"x"`)))
		out = append(out, join(append(slices.Clone(members), key+`:7`)))
		// Moved to the front and to the end, and swapped with the next.
		rest := slices.Delete(slices.Clone(members), k, k+1)
		out = append(out, join(append([]string{members[k]}, rest...)), join(append(rest, members[k])))
		if k+1 < len(members) {
			ms := slices.Clone(members)
			ms[k], ms[k+1] = ms[k+1], ms[k]
			out = append(out, join(ms))
		}
		// Other members before it.
		for _, o := range []string{`"_path":"conn"`, `"tunnel_parents":["a","b\"}"]`, `"x":{"ts":1,"id.orig_h":"9.9.9.9"}`,
			`"community_id":"1:abc="`, `"id.orig\u005fh":"9.9.9.9"`, `"t\u0073":5`, `"":1`, `"ip_proto":6`, `"a":1e5`, `"b":-1`} {
			out = append(out, join(slices.Insert(slices.Clone(members), k, o)))
		}
		// The key escaped, the key changed.
		out = append(out, join(slices.Replace(slices.Clone(members), k, k+1, `"\u00`+fmt.Sprintf("%02x", key[1])+key[2:]+members[k][len(key):])))
		out = append(out, join(slices.Replace(slices.Clone(members), k, k+1, `"X`+members[k][1:])))
		// Whitespace around it.
		for _, ws := range []string{" ", "\t", "\r", "\n"} {
			ms := slices.Clone(members)
			ms[k] = ws + key + ws + ":" + ws + members[k][len(key)+1:] + ws
			out = append(out, join(ms))
		}
	}
	slices.Reverse(members)
	out = append(out, join(members))
	slices.Sort(members)
	out = append(out, join(members))
	// Others after the last member, and around the object.
	s := string(line)
	for _, tail := range []string{`,"tunnel_parents":[]`, `,"ip_proto":6`, `,"a":"b","c":[{}]`, `,"ts":1`, `,`, `,"a"`, `,"a":`, `,"a":1,`, `,}`, `,"x":nul`, `,"a":tru`} {
		out = append(out, s[:len(s)-1]+tail+"}")
	}
	for _, around := range [][2]string{{" ", ""}, {"", " "}, {"", "\r"}, {"", "}"}, {"", ","}, {"", "x"}, {"[", "]"}, {`{"a":`, "}"}, {"", "\x00"}} {
		out = append(out, around[0]+s+around[1])
	}
	out = append(out, "", "{", "}", "{}", "[]", "null", `{"ts":1}`, `{"ts":1,"id.orig_h":"1.2.3.4","id.resp_h":"5.6.7.8"}`,
		`{"id.orig_h":"1.2.3.4","id.resp_h":"5.6.7.8"}`, `{"ts":1,"id.orig_h":"1.2.3.4"}`, `{"ts":1,"id.resp_h":"5.6.7.8"}`,
		`{"ts":1,"uid":"C","id.orig_h":"1.2.3.4","id.resp_h":"5.6.7.8"`, `{"ts":1,,"id.orig_h":"1.2.3.4","id.resp_h":"5.6.7.8"}`)
	// Every prefix, and each byte replaced.
	for i := range len(s) {
		out = append(out, s[:i])
		for _, c := range []string{`"`, `\`, `,`, `:`, `{`, `}`, `[`, ` `, `0`, `9`, `.`, `e`, `-`, "\x80", "\x00"} {
			out = append(out, s[:i]+c+s[i+1:])
		}
	}
	return out
}

// zeekJSONLines are conn.log lines as Zeek writes them (the first two from
// the Zeek manual's conn.log chapter), all of which the fast path takes.
var zeekJSONLines = []string{
	`{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","service":"dns","duration":0.06685185432434082,"orig_bytes":62,"resp_bytes":141,"conn_state":"SF","missed_bytes":0,"history":"Dd","orig_pkts":2,"orig_ip_bytes":118,"resp_pkts":2,"resp_ip_bytes":197}`,
	`{"ts":1591367999.305988,"uid":"CMdzit1AMNsmfAIiQc","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","service":"dns","duration":0.06685185432434082,"orig_bytes":62,"resp_bytes":141,"conn_state":"SF","missed_bytes":0,"history":"Dd","orig_pkts":2,"orig_ip_bytes":118,"resp_pkts":2,"resp_ip_bytes":197,"ip_proto":17}`,
	`{"_path":"conn","_write_ts":"2020-06-05T14:40:00.000000Z","ts":1591367999.430166,"uid":"C5bLoe2Mvxqhawzqqd","id.orig_h":"192.168.4.76","id.orig_p":46378,"id.resp_h":"31.3.245.133","id.resp_p":80,"proto":"tcp","service":"http","duration":0.25411510467529297,"orig_bytes":77,"resp_bytes":295,"conn_state":"SF","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"ShADadFf","orig_pkts":6,"orig_ip_bytes":397,"resp_pkts":4,"resp_ip_bytes":511,"tunnel_parents":["CZ1b6a2u7zoHhXgkX2"],"community_id":"1:wlFcLDNvCH2gMpPRhcKRa1oXfbM="}`,
	`{"ts":1591368000.123456,"uid":"CUqUTh1FcYTnQ3Ib3f","id.orig_h":"2001:db8::1","id.orig_p":5353,"id.resp_h":"ff02::fb","id.resp_p":5353,"proto":"udp","conn_state":"S0","missed_bytes":0,"history":"D","orig_pkts":1,"orig_ip_bytes":120,"resp_pkts":0,"resp_ip_bytes":0}`,
	`{"ts":1591368000.5,"uid":"CsM6Tx3kqdaQCDcUi2","id.orig_h":"10.0.0.5","id.orig_p":0,"id.resp_h":"10.0.0.1","id.resp_p":0,"proto":"icmp","duration":1.0,"orig_bytes":0,"resp_bytes":0,"conn_state":"OTH","missed_bytes":0,"orig_pkts":3,"orig_ip_bytes":252,"resp_pkts":0,"resp_ip_bytes":0}`,
}

// TestJSONFastPath checks that Parse, with its fast path, gives what the
// general path gives, record and error, on generated lines and lines of
// unusual shapes, with all fields and with the ones flows reads; that the
// fast path takes every generated line; and that without FieldExtra only
// Extra differs.
func TestJSONFastPath(t *testing.T) {
	t.Parallel()
	lines := jsonLines(3000)
	odd := oddJSONLines(lines[0])
	for _, l := range lines[1:6] {
		odd = append(odd, oddJSONLines(l)[:2000]...)
	}
	for _, l := range zeekJSONLines {
		odd = append(odd, oddJSONLines([]byte(l))...)
	}
	nfast := 0
	for _, want := range []flowlog.Fields{0, flowlog.FieldCounts | flowlog.FieldTimes} {
		p, general, full := NewJSON(), NewJSON(), NewJSON()
		p.SetFields(want)
		general.SetFields(want)
		for _, l := range slices.Concat(lines, toBytes(zeekJSONLines)) {
			if !p.fast(l, new(flowlog.Record)) {
				t.Errorf("fields %d: the fast path does not take %s", want, l)
			}
		}
		for _, l := range slices.Concat(lines, toBytes(zeekJSONLines), toBytes(odd)) {
			var a, b, c flowlog.Record
			okA, errA := p.Parse(l, &a)
			okB, errB := general.general(l, &b)
			if okA != okB || fmt.Sprint(errA) != fmt.Sprint(errB) || a != b {
				t.Errorf("fields %d, line %q:\nParse   %v %v %+v\ngeneral %v %v %+v", want, l, okA, errA, a, okB, errB, b)
			}
			if p.fast(l, &c) {
				nfast++
			}
			if want != 0 {
				okC, errC := full.Parse(l, &c)
				c.Extra = flowlog.Extra{}
				if okC != okA || fmt.Sprint(errC) != fmt.Sprint(errA) || okA && c != a {
					t.Errorf("line %q:\nlean %v %v %+v\nfull %v %v %+v", l, okA, errA, a, okC, errC, c)
				}
			}
		}
	}
	t.Logf("%d lines, %d of them (with the generated ones twice) taken by the fast path", 2*(len(lines)+len(odd)), nfast)
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// FuzzJSONFastPath checks that Parse, with its fast path, gives what the
// general path gives, record and error, for any line.
func FuzzJSONFastPath(f *testing.F) {
	lines := jsonLines(5)
	for _, l := range slices.Concat(lines, toBytes(zeekJSONLines)) {
		f.Add(string(l))
	}
	odd := oddJSONLines(lines[0])
	for i := 0; i < len(odd); i += 97 {
		f.Add(odd[i])
	}
	f.Add(`{"_path":"conn","ts":1,"id.orig_h":"1.2.3.4","id.resp_h":"::1","tunnel_parents":["a"],"x":{"y":[1,"\"}"]}}`)
	f.Add(`{"ts":1.5,"id.orig_h":"1.2.3.4","id.orig_p":1,"id.resp_h":"5.6.7.8","proto":"udp","orig_ip_bytes":5}`)
	f.Add(`{"ts":1,"id.orig_h":"1.2.3.4","id.resp_h":"5.6.7.8","resp_ip_bytes":5,"orig_bytes":7}`)
	f.Fuzz(func(t *testing.T, line string) {
		for _, want := range []flowlog.Fields{0, flowlog.FieldCounts | flowlog.FieldTimes} {
			p, general := NewJSON(), NewJSON()
			p.SetFields(want)
			general.SetFields(want)
			var a, b flowlog.Record
			okA, errA := p.Parse([]byte(line), &a)
			okB, errB := general.general([]byte(line), &b)
			if okA != okB || fmt.Sprint(errA) != fmt.Sprint(errB) || a != b {
				t.Fatalf("fields %d, line %q:\nParse   %v %v %+v\ngeneral %v %v %+v", want, line, okA, errA, a, okB, errB, b)
			}
		}
	})
}
