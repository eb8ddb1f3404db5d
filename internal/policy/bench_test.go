package policy

import (
	"testing"
)

// BenchmarkEvaluate measures the cost of evaluating one attribution record,
// per pack and for all packs together.
//
//	go test -run '^$' -bench Evaluate -benchmem ./internal/policy
func BenchmarkEvaluate(b *testing.B) {
	rec := mustRecord(b, `{"ip":"47.88.1.1","prefix":"47.88.0.0/16","asn":45102,"as_name":"Alibaba (US) Technology Co., Ltd.","provider":{"id":"alibaba-cloud","name":"Alibaba Cloud","kind":"cloud"},"operator":{"id":"alibaba-us","name":"Alibaba (US) Technology Co., Ltd.","country":"US"},"parent":{"id":"alibaba-group","name":"Alibaba Group Holding Limited","country":"CN"},"control":{"country":"CN","basis":"ultimate parent Alibaba Group Holding Limited, headquartered in Hangzhou"},"registration":{"country":"US","source":"rir"},"location":{"country":"US","source":"geolocation"},"evidence":[{"method":"asn","detail":"origin AS45102 listed for alibaba-cloud","source":"ip-location-db asn 2026-06-17","provider":"alibaba-cloud"}],"confidence":"high"}`)
	clean := mustRecord(b, `{"ip":"51.38.0.1","provider":{"id":"ovhcloud","name":"OVHcloud"},"operator":{"id":"ovh-sas","name":"OVH SAS"},"control":{"country":"FR","basis":"b"},"location":{"country":"FR","source":"g"},"confidence":"high"}`)
	for _, pack := range append(Packs(), "all") {
		var set *Set
		if pack == "all" {
			set = allPacks(b)
		} else {
			p, err := Pack(pack)
			if err != nil {
				b.Fatal(err)
			}
			if set, err = Compile(testEnv(), p); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(pack+"/findings", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				set.Evaluate(KindIP, rec)
			}
		})
		b.Run(pack+"/clean", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				set.Evaluate(KindIP, clean)
			}
		})
	}
}

// BenchmarkRecordJSON measures building the map form of a record.
func BenchmarkRecordJSON(b *testing.B) {
	js := []byte(`{"ip":"47.88.1.1","prefix":"47.88.0.0/16","asn":45102,"as_name":"Alibaba (US) Technology Co., Ltd.","provider":{"id":"alibaba-cloud","name":"Alibaba Cloud","kind":"cloud"},"operator":{"id":"alibaba-us","name":"Alibaba (US) Technology Co., Ltd.","country":"US"},"control":{"country":"CN","basis":"ultimate parent"},"location":{"country":"US","source":"geolocation"},"confidence":"high"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RecordJSON(js); err != nil {
			b.Fatal(err)
		}
	}
}
