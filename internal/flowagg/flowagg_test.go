package flowagg

import (
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/flowlog"
)

// fakeAttributor attributes a few addresses and counts its calls.
type fakeAttributor struct {
	mu    sync.Mutex
	calls map[netip.Addr]int
}

func (f *fakeAttributor) Attribute(a netip.Addr) attribution.Record {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = make(map[netip.Addr]int)
	}
	f.calls[a]++
	f.mu.Unlock()
	alibaba := attribution.Record{IP: a, ASN: 45102, ASName: "ALIBABA-US",
		Provider: &attribution.Ref{ID: "alibaba-cloud", Name: "Alibaba Cloud"},
		Operator: &attribution.Ref{ID: "alibaba-us", Name: "Alibaba (US) Technology"},
		Parent:   &attribution.Ref{ID: "alibaba-group", Name: "Alibaba Group"},
		Control:  &attribution.Control{Country: "CN"}, Location: &attribution.Location{Country: "US"}}
	switch a.String() {
	case "47.88.1.1":
		return alibaba
	case "47.88.2.2":
		alibaba.Location = &attribution.Location{Country: "SG"}
		return alibaba
	case "13.32.0.1":
		return attribution.Record{IP: a, ASN: 16509, Provider: &attribution.Ref{ID: "aws", Name: "Amazon Web Services"},
			Operator: &attribution.Ref{ID: "aws-inc", Name: "Amazon Web Services, Inc."},
			Parent:   &attribution.Ref{ID: "amazon", Name: "Amazon.com"}, Control: &attribution.Control{Country: "US"},
			Location: &attribution.Location{Country: "US"}}
	}
	return attribution.Record{IP: a, Confidence: attribution.ConfidenceNone}
}

func rec(src, dst string, proto uint8, srcBytes, dstBytes uint64) flowlog.Record {
	return flowlog.Record{Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Proto: proto,
		SrcBytes: srcBytes, DstBytes: dstBytes, SrcPackets: 1, DstPackets: 2}
}

func records() []flowlog.Record {
	rs := []flowlog.Record{
		rec("10.0.0.5:40000", "47.88.1.1:443", 6, 1000, 5000),         // outbound to Alibaba
		rec("47.88.1.1:51000", "10.0.0.9:22", 6, 300, 400),            // inbound from Alibaba
		rec("10.0.0.5:40001", "47.88.2.2:443", 6, 10, 20),             // Alibaba, another location
		rec("192.168.1.1:5353", "13.32.0.1:53", 17, 100, 200),         // AWS
		rec("[fd00::1]:1000", "[3fff::1]:443", 6, 50, 0),              // unattributed
		rec("10.0.0.5:1", "10.0.0.6:2", 6, 7, 7),                      // internal
		rec("8.8.8.8:53", "1.1.1.1:53", 17, 9, 9),                     // transit
		rec("[::ffff:10.0.0.7]:3", "[::ffff:47.88.1.1]:443", 6, 1, 1), // unmapped by the readers; here mapped
	}
	rs[len(rs)-1].Src = netip.AddrPortFrom(rs[len(rs)-1].Src.Addr().Unmap(), 3)
	rs[len(rs)-1].Dst = netip.AddrPortFrom(rs[len(rs)-1].Dst.Addr().Unmap(), 443)
	rs[0].UnsplitBytes, rs[0].UnsplitPackets = 11, 3
	rs[0].Start = time.Unix(100, 0)
	rs[1].End = time.Unix(200, 0)
	return rs
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	a := New(NewLocal(DefaultLocal()))
	for _, r := range records() {
		a.Add(&r)
	}
	var att fakeAttributor
	s := a.Summarize(&att, Options{By: []string{ByControl, ByProvider, ByOperator, ByLocation, ByASN, ByRemoteIP, ByService}, Top: 2})
	for addr, n := range att.calls {
		if n != 1 {
			t.Errorf("%v attributed %d times, want once", addr, n)
		}
	}
	if len(att.calls) != 4 || s.Remotes != 4 {
		t.Errorf("%d addresses attributed, %d remotes; want 4", len(att.calls), s.Remotes)
	}
	wantRemote := Counters{
		Bytes: 1000 + 5000 + 11 + 300 + 400 + 10 + 20 + 100 + 200 + 50 + 2, BytesOut: 1000 + 400 + 10 + 100 + 50 + 1, BytesIn: 5000 + 300 + 20 + 200 + 0 + 1,
		Packets: 6*3 + 3, PacketsOut: 1 + 2 + 1 + 1 + 1 + 1, PacketsIn: 2 + 1 + 2 + 2 + 2 + 2,
		Flows: 6, FlowsOut: 5, FlowsIn: 1,
	}
	if diff := cmp.Diff(wantRemote, s.Remote); diff != "" {
		t.Errorf("remote counters (-want +got):\n%s", diff)
	}
	if s.Internal != (Counters{Bytes: 14, Packets: 3, Flows: 1}) || s.Transit != (Counters{Bytes: 18, Packets: 3, Flows: 1}) {
		t.Errorf("internal %+v, transit %+v", s.Internal, s.Transit)
	}
	if s.Unattributed.Bytes != 50 || s.UnattributedShare != 50/float64(wantRemote.Bytes) || s.ShareOf != "bytes" {
		t.Errorf("unattributed %+v, share %v", s.Unattributed, s.UnattributedShare)
	}
	if !s.Start.Equal(time.Unix(100, 0)) || !s.End.Equal(time.Unix(200, 0)) {
		t.Errorf("times %v to %v", s.Start, s.End)
	}
	groups := map[string]Group{}
	for _, g := range s.Groups {
		groups[g.By] = g
	}
	ctl := groups[ByControl]
	if ctl.Count != 3 || len(ctl.Rows) != 2 || ctl.Rows[0].Key != "CN" || ctl.Rows[0].Remotes != 2 || ctl.Rows[0].Provider != "alibaba-cloud" ||
		ctl.Rows[0].Location != "" || ctl.Rows[1].Key != "US" || ctl.Other == nil || ctl.Other.Bytes != 50 || ctl.Other.Remotes != 1 {
		t.Errorf("by control: %+v", ctl)
	}
	if got := groups[ByProvider].Rows[0]; got.Key != "alibaba-cloud" || got.Name != "Alibaba Cloud" || got.Control != "CN" || got.ASN != 45102 || got.Operator != "alibaba-us" {
		t.Errorf("provider row: %+v", got)
	}
	if got := groups[ByOperator]; got.Count != 3 || got.Rows[0].Key != "alibaba-us" || got.Rows[0].Name != "Alibaba (US) Technology" || got.Rows[0].Provider != "alibaba-cloud" ||
		got.Rows[1].Key != "aws-inc" || got.Rows[1].Operator != "aws-inc" {
		t.Errorf("by operator: %+v", got)
	}
	if got := groups[ByControl].Rows[1]; got.Key != "US" || got.Operator != "aws-inc" {
		t.Errorf("control row US: %+v, want the operator of its one remote", got)
	}
	if got := groups[ByASN].Rows[0]; got.Key != "AS45102" || got.Name != "ALIBABA-US" {
		t.Errorf("asn row: %+v", got)
	}
	ips := groups[ByRemoteIP]
	if ips.Count != 4 || len(ips.Rows) != 2 || ips.Rows[0].Key != "47.88.1.1" || ips.Rows[0].Location != "US" || ips.Rows[0].Name != "Alibaba Cloud" ||
		ips.Rows[1].Key != "13.32.0.1" || ips.Other == nil || ips.Other.Remotes != 2 || ips.Other.Bytes != 30+50 {
		t.Errorf("by remote-ip: %+v", ips)
	}
	svc := groups[ByService]
	if svc.Rows[0].Key != "tcp/443" || svc.Rows[1].Key != "tcp/22" || svc.Count != 4 {
		t.Errorf("by service: %+v", svc)
	}
	var sum float64
	for _, r := range ctl.Rows {
		sum += r.Share
	}
	if sum += ctl.Other.Share; sum < 0.999999 || sum > 1.000001 {
		t.Errorf("shares add up to %v", sum)
	}
	// The JSON form keeps its names.
	b, _ := json.Marshal(s)
	for _, key := range []string{`"remote":{"bytes":`, `"unattributed_share":`, `"groups":[{"by":"control","count":3,"rows":[{"key":"CN"`, `"bytes_out":`, `"share_of":"bytes"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b)
		}
	}
}

// TestTopAll keeps every row with Top 0, and orders ties by key.
func TestTopAll(t *testing.T) {
	t.Parallel()
	a := New(NewLocal(DefaultLocal()))
	for _, d := range []string{"47.88.1.1:1", "13.32.0.1:1", "1.1.1.1:1", "9.9.9.9:1"} {
		r := rec("10.0.0.1:5", d, 6, 10, 10)
		a.Add(&r)
	}
	s := a.Summarize(&fakeAttributor{}, Options{By: []string{ByRemoteIP}})
	var keys []string
	for _, r := range s.Groups[0].Rows {
		keys = append(keys, r.Key)
	}
	if strings.Join(keys, " ") != "1.1.1.1 9.9.9.9 13.32.0.1 47.88.1.1" || s.Groups[0].Other != nil {
		t.Errorf("rows %v, other %+v", keys, s.Groups[0].Other)
	}
}

// TestFlowsShare uses flows for shares when the input has no bytes.
func TestFlowsShare(t *testing.T) {
	t.Parallel()
	a := New(NewLocal(DefaultLocal()))
	for _, d := range []string{"47.88.1.1:1", "3fff::2:1"} {
		r := flowlog.Record{Src: netip.MustParseAddrPort("10.0.0.1:5"), Dst: netip.MustParseAddrPort(strings.Replace(d, "3fff::2:1", "[3fff::2]:1", 1))}
		a.Add(&r)
	}
	s := a.Summarize(&fakeAttributor{}, Options{By: []string{ByControl}})
	if s.ShareOf != "flows" || s.UnattributedShare != 0.5 || s.Groups[0].Rows[0].Share != 0.5 {
		t.Errorf("summary %+v", s)
	}
}

func TestMergeAndShards(t *testing.T) {
	t.Parallel()
	local := NewLocal(DefaultLocal())
	whole := New(local)
	sh := NewShards(3, local)
	var wg sync.WaitGroup
	rs := records()
	for i := range 3 {
		wg.Go(func() {
			for k := range 100 {
				r := rs[(i+k)%len(rs)]
				sh.Add(i, []flowlog.Record{r})
			}
		})
		for k := range 100 {
			r := rs[(i+k)%len(rs)]
			whole.Add(&r)
		}
	}
	wg.Wait()
	got, _ := json.MarshalIndent(sh.Take().Summarize(&fakeAttributor{}, Options{}), "", " ")
	want, _ := json.MarshalIndent(whole.Summarize(&fakeAttributor{}, Options{}), "", " ")
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("sharded summary differs (-whole +sharded):\n%s", diff)
	}
	if again := sh.Take(); again.Remotes() != 0 {
		t.Errorf("a second Take has %d remotes", again.Remotes())
	}
}

func TestLocal(t *testing.T) {
	t.Parallel()
	def := NewLocal(DefaultLocal())
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "100.64.0.1": true, "100.128.0.1": false, "172.31.255.255": true, "172.32.0.0": false,
		"192.168.0.1": true, "127.0.0.1": true, "169.254.1.1": true, "224.0.0.251": true, "255.255.255.255": true,
		"8.8.8.8": false, "47.88.1.1": false, "::1": true, "fe80::1": true, "fd00::1": true, "ff02::1:3": true,
		"2001:db8::1": true, "2a00:1450:4001::1": false, "3fff::1": false,
	} {
		if got := def.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("default local Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	// A long list goes through the prefix table; it must agree.
	var many []netip.Prefix
	for i := range 100 {
		many = append(many, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(i), 0, 0, 0}), 8))
	}
	many = append(many, netip.MustParsePrefix("2a00::/16"))
	long := NewLocal(many)
	for addr, want := range map[string]bool{"5.1.2.3": true, "99.0.0.1": true, "100.0.0.1": false, "2a00:1450::1": true, "2a01::1": false} {
		if got := long.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("long list Contains(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestParseLocal(t *testing.T) {
	t.Parallel()
	got, err := ParseLocal("10.0.0.0/8, 198.51.100.7,2001:db8::/32,::ffff:192.0.2.0/120,10.1.2.3/8")
	want := "[10.0.0.0/8 198.51.100.7/32 2001:db8::/32 192.0.2.0/24 10.0.0.0/8]"
	if err != nil || stringify(got) != want {
		t.Errorf("ParseLocal = %v, %v; want %s", got, err, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "fe80::1%eth0"} {
		if _, err := ParseLocal(bad); err == nil {
			t.Errorf("ParseLocal(%q): no error", bad)
		}
	}
}

func stringify(ps []netip.Prefix) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.String())
	}
	b.WriteByte(']')
	return b.String()
}

func TestParseBy(t *testing.T) {
	t.Parallel()
	got, err := ParseBy("control, provider,remote-ip,control,ip")
	if err != nil || strings.Join(got, ",") != "control,provider,remote-ip" {
		t.Errorf("ParseBy = %v, %v", got, err)
	}
	for _, bad := range []string{"", "country", ","} {
		if _, err := ParseBy(bad); err == nil {
			t.Errorf("ParseBy(%q): no error", bad)
		}
	}
}
