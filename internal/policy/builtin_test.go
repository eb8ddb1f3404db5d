package policy

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func allPacks(t testing.TB) *Set {
	t.Helper()
	var ps []*Policy
	for _, n := range Packs() {
		p, err := Pack(n)
		if err != nil {
			t.Fatalf("Pack(%s): %v", n, err)
		}
		ps = append(ps, p)
	}
	s, err := Compile(testEnv(), ps...)
	if err != nil {
		t.Fatalf("Compile(packs): %v", err)
	}
	return s
}

// TestBuiltinRules checks every built-in rule with records that must and
// must not break it. Each case lists every finding of all packs together,
// so a rule that fires where it should not fails the case too.
func TestBuiltinRules(t *testing.T) {
	t.Parallel()
	set := allPacks(t)
	tests := []struct {
		name string
		kind string
		rec  string
		want []string
	}{
		// ip: control and location.
		{"Alibaba US region, controlled from CN", KindIP,
			`{"ip":"47.88.1.1","provider":{"id":"alibaba-cloud","name":"Alibaba Cloud"},"operator":{"id":"alibaba-us","name":"Alibaba (US)"},"control":{"country":"CN","basis":"ultimate parent Alibaba Group"},"location":{"country":"US","source":"geolocation"}}`,
			[]string{"eu-residency/control", "eu-residency/location", "us-icts/control"}},
		{"Hong Kong control counts as China", KindIP,
			`{"ip":"192.0.2.1","control":{"country":"HK","basis":"b"},"location":{"country":"HK","source":"g"}}`,
			[]string{"eu-residency/control", "eu-residency/location", "us-icts/control"}},
		{"Macau control counts as China", KindIP,
			`{"ip":"192.0.2.2","as_name":"CTM","control":{"country":"MO","basis":"b"}}`,
			[]string{"eu-residency/control", "us-icts/control"}},
		{"Maduro regime: Venezuela", KindIP,
			`{"ip":"192.0.2.3","control":{"country":"VE","basis":"b"}}`,
			[]string{"eu-residency/control", "us-icts/control"}},
		{"Russian provider in Russia", KindIP,
			`{"ip":"5.255.255.5","provider":{"id":"yandex-cloud","name":"Yandex Cloud"},"control":{"country":"RU","basis":"b"},"location":{"country":"RU","source":"g"}}`,
			[]string{"eu-residency/control", "eu-residency/location", "us-icts/control"}},
		{"US cloud region in mainland China", KindIP,
			`{"ip":"52.80.0.1","provider":{"id":"azure","name":"Azure"},"control":{"country":"US","basis":"b"},"location":{"country":"CN","source":"g"}}`,
			[]string{"eu-residency/cloud-act", "eu-residency/location", "us-icts/location"}},
		{"location in an adversary with unknown control", KindIP,
			`{"ip":"192.0.2.4","location":{"country":"IR","source":"g"}}`,
			[]string{"eu-residency/location", "us-icts/location"}},
		{"US provider in the US", KindIP,
			`{"ip":"8.8.8.8","provider":{"id":"google-cloud","name":"Google Cloud"},"operator":{"id":"google-llc","name":"Google LLC"},"control":{"country":"US","basis":"b"},"location":{"country":"US","source":"g"}}`,
			[]string{"eu-residency/cloud-act", "eu-residency/location"}},
		{"US provider's EU region: CLOUD Act only", KindIP,
			`{"ip":"34.89.0.1","provider":{"id":"google-cloud","name":"Google Cloud"},"control":{"country":"US","basis":"b"},"location":{"country":"DE","region":"europe-west3","source":"g"}}`,
			[]string{"eu-residency/cloud-act"}},
		{"EU provider in the EU: nothing", KindIP,
			`{"ip":"51.38.0.1","provider":{"id":"ovhcloud","name":"OVHcloud"},"control":{"country":"FR","basis":"b"},"location":{"country":"FR","source":"g"}}`,
			nil},
		{"EEA (Norway) is not outside", KindIP,
			`{"ip":"192.0.2.5","control":{"country":"NO","basis":"b"},"location":{"country":"NO","source":"g"}}`,
			nil},
		{"EU provider's US site", KindIP,
			`{"ip":"5.161.0.1","provider":{"id":"hetzner","name":"Hetzner"},"control":{"country":"DE","basis":"b"},"location":{"country":"US","source":"g"}}`,
			[]string{"eu-residency/location"}},
		{"Swiss provider", KindIP,
			`{"ip":"192.0.2.6","control":{"country":"CH","basis":"b"},"location":{"country":"CH","source":"g"}}`,
			[]string{"eu-residency/control", "eu-residency/location"}},
		{"nothing known", KindIP, `{"ip":"192.0.2.7","confidence":"none"}`, nil},
		// ip: restricted entities through the parent chain.
		{"operated by a Covered List entity", KindIP,
			`{"ip":"66.102.241.1","operator":{"id":"china-telecom-americas","name":"China Telecom (Americas) Corporation"},"control":{"country":"CN","basis":"b"},"location":{"country":"US","source":"g"}}`,
			[]string{"eu-residency/control", "eu-residency/location", "fcc-covered/entity", "us-icts/control"}},
		{"operated by an affiliate of a Covered List entity", KindIP,
			`{"ip":"202.97.1.1","operator":{"id":"china-telecom-corp","name":"China Telecom Corporation Limited"},"control":{"country":"CN","basis":"b"},"location":{"country":"CN","source":"g"}}`,
			[]string{"eu-residency/control", "eu-residency/location", "fcc-covered/affiliate", "us-icts/control"}},
		{"operated by a subsidiary of Huawei", KindIP,
			`{"ip":"192.0.2.8","operator":{"id":"huawei-cloud-sub","name":"Huawei sub"},"control":{"country":"CN","basis":"b"}}`,
			[]string{"eu-residency/control", "fcc-covered/entity", "fcc-covered/ndaa-889", "us-icts/control"}},
		{"operated by a sister company of Huawei Technologies", KindIP,
			`{"ip":"192.0.2.9","operator":{"id":"huawei-cloud-computing","name":"Huawei Cloud Computing"},"control":{"country":"CN","basis":"b"}}`,
			[]string{"eu-residency/control", "fcc-covered/affiliate", "us-icts/control"}},
		{"operator not on any list", KindIP,
			`{"ip":"192.0.2.10","operator":{"id":"alibaba-us","name":"Alibaba (US)"}}`,
			nil},
		// ip: the low tier, and anycast.
		{"network the catalog does not know, holder registered in CN: unverified", KindIP,
			`{"ip":"192.0.2.20","as_name":"Some ISP","operator":{"id":"AS64500","name":"Some ISP"},"control":{"country":"CN","basis":"holder of AS64500 registered in CN; no parent known","source":"registry"},"confidence":"low"}`,
			[]string{"eu-residency/control-unverified", "us-icts/control-unverified"}},
		{"AS-name match to a Chinese provider: low confidence, unverified", KindIP,
			`{"ip":"192.0.2.21","provider":{"id":"alibaba-cloud","name":"Alibaba Cloud"},"control":{"country":"CN","basis":"b","source":"catalog"},"confidence":"low"}`,
			[]string{"eu-residency/control", "us-icts/control-unverified"}},
		{"holder registered in the US: no CLOUD Act finding on the registry's word", KindIP,
			`{"ip":"192.0.2.22","control":{"country":"US","basis":"holder of AS64501 registered in US; no parent known","source":"registry"},"confidence":"low"}`,
			[]string{"eu-residency/control-unverified"}},
		{"anycast CDN address: served from many countries, not located", KindIP,
			`{"ip":"104.16.0.1","provider":{"id":"cloudflare","name":"Cloudflare"},"control":{"country":"US","basis":"b","source":"catalog"},"location":{"country":"US","source":"registry-geo","anycast":true},"confidence":"high"}`,
			[]string{"eu-residency/anycast", "eu-residency/cloud-act"}},
		// scan layers.
		{"DNS on a network registered in CN that the catalog does not know", KindScanLayer,
			`{"domain":"example.org","layer":"dns","hosts":[{"host":"ns1.example.net","addresses":[{"ip":"1","control":{"country":"CN","source":"registry"}}]},{"host":"ns2.example.net","addresses":[{"ip":"2","provider":{"id":"ovhcloud"},"control":{"country":"FR","source":"catalog"}}]}]}`,
			[]string{"us-icts/layer-control-unverified"}},
		{"a layer's anycast address is not a location", KindScanLayer,
			`{"domain":"example.de","layer":"web","hosts":[{"ip":"1","provider":{"id":"ovhcloud"},"control":{"country":"FR"},"location":{"country":"US","anycast":true}}]}`,
			[]string{"concentration/single-provider"}},
		{"DNS at a single Chinese provider", KindScanLayer,
			`{"domain":"example.cn","layer":"dns","hosts":[{"host":"ns1.alidns.com","addresses":[{"ip":"1","provider":{"id":"alibaba-cloud"},"control":{"country":"CN"},"location":{"country":"CN"}}]},{"host":"ns2.alidns.com","provider":{"id":"alibaba-cloud"},"control":{"country":"CN"}}]}`,
			[]string{"concentration/single-dns-provider", "eu-residency/layer-control", "eu-residency/layer-location", "us-icts/layer-control"}},
		{"DNS at two US providers", KindScanLayer,
			`{"domain":"example.com","layer":"dns","hosts":[{"ip":"1","provider":{"id":"cloudflare"},"control":{"country":"US"},"location":{"country":"US"}},{"ip":"2","provider":{"id":"aws"},"control":{"country":"US"},"location":{"country":"IE"}}]}`,
			[]string{"eu-residency/layer-control", "eu-residency/layer-location"}},
		{"web at a single EU provider", KindScanLayer,
			`{"domain":"example.fr","layer":"web","hosts":[{"ip":"1","provider":{"id":"ovhcloud"},"control":{"country":"FR"},"location":{"country":"FR"}}]}`,
			[]string{"concentration/single-provider"}},
		{"DNS with an unattributed server is not single-provider", KindScanLayer,
			`{"domain":"example.fr","layer":"dns","hosts":[{"ip":"1","provider":{"id":"ovhcloud"},"control":{"country":"FR"}},{"ip":"2"}]}`,
			nil},
		{"mail at a Covered List carrier", KindScanLayer,
			`{"domain":"example.us","layer":"mail","hosts":[{"ip":"1","operator":{"id":"china-telecom-americas"},"control":{"country":"CN"}},{"ip":"2","provider":{"id":"google-cloud"},"operator":{"id":"google-llc"},"control":{"country":"US"}}]}`,
			[]string{"eu-residency/layer-control", "fcc-covered/layer", "us-icts/layer-control"}},
		{"empty layer", KindScanLayer, `{"domain":"example.org","layer":"mail","hosts":[]}`, nil},
		// flow groups.
		{"bytes to China", KindFlowGroup, `{"control":"CN","bytes":1000,"flows":3}`,
			[]string{"eu-residency/flow-control", "us-icts/flow-control"}},
		{"bytes to networks registered in China that the catalog does not know", KindFlowGroup,
			`{"by":"control","key":"CN","registry_control":"CN","bytes":1000,"flows":3}`,
			[]string{"us-icts/flow-control-unverified"}},
		{"bytes to a German provider in Germany", KindFlowGroup, `{"control":{"country":"DE"},"location":{"country":"DE"},"bytes":10}`, nil},
		{"bytes to a Covered List carrier", KindFlowGroup,
			`{"operator":"china-telecom-americas","control":"CN","location":"US","bytes":5}`,
			[]string{"eu-residency/flow-control", "eu-residency/flow-location", "fcc-covered/flow", "us-icts/flow-control"}},
		// populations.
		{"one provider serves 60%", KindPopulation,
			`{"population":"top","total":10,"providers":[{"id":"cloudflare","name":"Cloudflare","count":6,"share":0.6},{"id":"aws","name":"AWS","count":4,"share":0.4}]}`,
			[]string{"concentration/population-share"}},
		{"one provider serves everything (integral share)", KindPopulation,
			`{"population":"top","total":3,"providers":[{"id":"cloudflare","name":"Cloudflare","count":3,"share":1}]}`,
			[]string{"concentration/population-share"}},
		{"exactly half is not above half", KindPopulation,
			`{"population":"top","total":2,"providers":[{"id":"a","name":"A","count":1,"share":0.5},{"id":"b","name":"B","count":1,"share":0.5}]}`,
			nil},
		{"empty population", KindPopulation, `{"population":"none","total":0,"providers":[]}`, nil},
	}
	fired := map[string]bool{}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, errs := set.Check(test.kind, mustRecord(t, test.rec))
			for _, err := range errs {
				t.Errorf("rule failed on the record: %v", err)
			}
			var ids []string
			for _, f := range got {
				ids = append(ids, f.Rule)
				fired[f.Rule] = true
				if f.Message == "" || strings.Contains(f.Message, "?") || strings.Contains(f.Message, "\n") {
					t.Errorf("%s: message %q", f.Rule, f.Message)
				}
				if f.Source.URL == "" || f.Source.Date == "" {
					t.Errorf("%s: no source", f.Rule)
				}
			}
			sort.Strings(ids)
			if diff := cmp.Diff(test.want, ids); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
	for _, r := range set.Rules() {
		if !fired[r.ID] {
			t.Errorf("built-in rule %s has no case that breaks it", r.ID)
		}
	}
}

func TestBuiltinMessages(t *testing.T) {
	t.Parallel()
	set := allPacks(t)
	tests := []struct {
		kind, rec, rule, want string
	}{
		{KindIP, `{"ip":"47.88.1.1","provider":{"id":"alibaba-cloud","name":"Alibaba Cloud"},"control":{"country":"CN","basis":"ultimate parent Alibaba Group Holding Limited"}}`,
			"us-icts/control", "47.88.1.1 (Alibaba Cloud) is controlled from CN, a foreign adversary under 15 CFR 791.4: ultimate parent Alibaba Group Holding Limited"},
		{KindIP, `{"ip":"192.0.2.1","as_name":"SOME-AS","location":{"country":"RU"}}`,
			"us-icts/location", "192.0.2.1 (SOME-AS) is located in RU, a foreign adversary under 15 CFR 791.4 (control: unknown)"},
		{KindIP, `{"ip":"66.102.241.1","operator":{"id":"china-telecom-americas","name":"China Telecom (Americas) Corporation"}}`,
			"fcc-covered/entity", "66.102.241.1 is operated by China Telecom (Americas) Corporation, listed entity China Telecom (Americas) Corp., on the FCC Covered List since 2022-03-25: Telecommunications services"},
		{KindIP, `{"ip":"192.0.2.9","operator":{"id":"huawei-cloud-sub","name":"Huawei sub"}}`,
			"fcc-covered/entity", "192.0.2.9 is operated by Huawei sub, subsidiary of Huawei Technologies Company (huawei-technologies), on the FCC Covered List since 2021-03-12: Telecommunications equipment"},
		{KindIP, `{"ip":"202.97.1.1","operator":{"id":"china-telecom-corp","name":"China Telecom Corporation Limited"}}`,
			"fcc-covered/affiliate", "202.97.1.1 is operated by China Telecom Corporation Limited, affiliate of China Telecom (Americas) Corp. (under the same parent china-telecom-group), on the FCC Covered List since 2022-03-25"},
		{KindIP, `{"ip":"34.89.0.1","provider":{"id":"g","name":"Google Cloud"},"control":{"country":"US","basis":"b"},"location":{"country":"DE"}}`,
			"eu-residency/cloud-act", "34.89.0.1 (Google Cloud) is controlled from the US, so CLOUD Act orders (18 U.S.C. 2713) reach its data wherever it is stored (location: DE): b"},
		{KindScanLayer, `{"domain":"example.cn","layer":"dns","hosts":[{"ip":"1","provider":{"id":"alibaba-cloud"},"control":{"country":"CN"}}]}`,
			"us-icts/layer-control", "the dns layer of example.cn depends on infrastructure controlled from CN (providers: alibaba-cloud)"},
		{KindScanLayer, `{"domain":"example.cn","layer":"dns","hosts":[{"ip":"1","provider":{"id":"alibaba-cloud"}}]}`,
			"concentration/single-dns-provider", "the DNS of example.cn depends on a single provider, alibaba-cloud"},
		{KindFlowGroup, `{"control":"CN","bytes":1000,"flows":3}`,
			"us-icts/flow-control", "1000 bytes in 3 flows went to infrastructure controlled from CN"},
		{KindPopulation, `{"population":"gov sites","total":10,"providers":[{"id":"cloudflare","name":"Cloudflare","count":6,"share":0.6}]}`,
			"concentration/population-share", "Cloudflare serves 60% of gov sites (6 of 10), above the 50% threshold"},
	}
	for _, test := range tests {
		t.Run(test.rule, func(t *testing.T) {
			var got string
			for _, f := range set.Evaluate(test.kind, mustRecord(t, test.rec)) {
				if f.Rule == test.rule {
					got = f.Message
				}
			}
			if got != test.want {
				t.Errorf("%s message = %q\nwant %q", test.rule, got, test.want)
			}
		})
	}
}

func TestBuiltinPacks(t *testing.T) {
	t.Parallel()
	if got, want := Packs(), []string{"concentration", "eu-residency", "fcc-covered", "us-icts"}; !slices.Equal(got, want) {
		t.Errorf("Packs() = %v, want %v", got, want)
	}
	for _, name := range Packs() {
		p, err := Pack(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != name || p.Description == "" {
			t.Errorf("pack %s: name %q, description %q", name, p.Name, p.Description)
		}
		for _, r := range p.Rules {
			if !strings.HasPrefix(r.ID, name+"/") {
				t.Errorf("pack %s: rule %s should be named %s/…", name, r.ID, name)
			}
			if r.Description == "" {
				t.Errorf("pack %s: rule %s has no description (policy list shows it)", name, r.ID)
			}
		}
		src, _ := PackSource(name)
		if !bytes.HasPrefix(src, []byte("# "+name+":")) {
			t.Errorf("pack %s: the file should start with a comment naming it", name)
		}
	}
	if _, err := Pack("nope"); err == nil {
		t.Errorf("Pack(nope) = nil error")
	}
}

// TestConcentrationParams shows how a user's copy of a pack changes a
// threshold.
func TestConcentrationParams(t *testing.T) {
	t.Parallel()
	src, _ := PackSource("concentration")
	src = bytes.Replace(src, []byte("max_share: 0.5"), []byte("max_share: 0.7"), 1)
	p, err := Parse("ours.yaml", bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile(testEnv(), p)
	if err != nil {
		t.Fatal(err)
	}
	rec := mustRecord(t, `{"population":"top","total":10,"providers":[{"id":"cloudflare","name":"Cloudflare","count":6,"share":0.6}]}`)
	if got := set.Evaluate(KindPopulation, rec); len(got) != 0 {
		t.Errorf("Evaluate with max_share 0.7 = %v, want nothing", got)
	}
}
