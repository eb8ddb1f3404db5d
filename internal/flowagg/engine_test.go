package flowagg_test

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/flowagg"
	"github.com/sovmap/sovmap/internal/flowlog"
	"github.com/sovmap/sovmap/internal/flowlog/flowtest"
)

// plain hides the engine's AttributeKey, so that Summarize attributes and
// groups every remote on its own.
type plain struct{ e *attribution.Engine }

func (p plain) Attribute(a netip.Addr) attribution.Record { return p.e.Attribute(a) }

// TestSummarizeByKey checks that grouping remotes by the engine's route key
// gives the summary that grouping each remote on its own gives, on remotes
// that share routes (neighbours in Alibaba, AWS and Cloudflare ranges),
// IPv6 remotes, and remotes spread over the whole table.
func TestSummarizeByKey(t *testing.T) {
	eng := engine(t)
	var remotes []netip.Addr
	for _, base := range []string{"47.88.1.0", "13.32.0.0", "104.16.0.0", "8.8.8.0", "1.1.1.0"} {
		a := netip.MustParseAddr(base)
		for range 40 {
			a = a.Next()
			remotes = append(remotes, a)
		}
	}
	for _, s := range []string{"2a00:1450:4001::1", "2a00:1450:4001::2", "2400:3200::1", "2606:4700::6810:84e5", "2001:db8::1"} {
		remotes = append(remotes, netip.MustParseAddr(s))
	}
	remotes = append(remotes, flowtest.RemoteAddrs(3000, 11)...)
	agg := flowagg.New(flowagg.NewLocal(flowagg.DefaultLocal()))
	src := netip.MustParseAddrPort("10.1.2.3:50000")
	for i, a := range remotes {
		r := flowlog.Record{Src: src, Dst: netip.AddrPortFrom(a, 443), Proto: 6, SrcBytes: uint64(100 + i), DstBytes: uint64(1000 + 7*i), SrcPackets: 2, DstPackets: 3}
		agg.Add(&r)
	}
	opt := flowagg.Options{By: flowagg.Dimensions, Top: 25}
	got, _ := json.MarshalIndent(agg.Summarize(eng, opt), "", " ")
	want, _ := json.MarshalIndent(agg.Summarize(plain{eng}, opt), "", " ")
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("summary by key differs from the summary per remote (-per remote +by key):\n%s", diff)
	}
}
