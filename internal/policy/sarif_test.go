package policy

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteSARIF(t *testing.T) {
	t.Parallel()
	set := allPacks(t)
	rec := mustRecord(t, `{"ip":"47.88.1.1","control":{"country":"CN","basis":"b"},"location":{"country":"US"}}`)
	var located []Located
	for _, f := range set.Evaluate(KindIP, rec) {
		located = append(located, Located{Finding: f, Kind: KindIP, Subject: "47.88.1.1", File: "dir/records 1.ndjson", Line: 3})
	}
	located = append(located, Located{Finding: set.Evaluate(KindIP, rec)[0], Kind: KindIP, Subject: "47.88.1.1"})
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, Tool{Name: "sovmap", Version: "test"}, set.Rules(), located); err != nil {
		t.Fatal(err)
	}
	if err := ValidateSARIF(buf.Bytes()); err != nil {
		t.Errorf("ValidateSARIF: %v\n%s", err, buf.String())
	}
	for _, want := range []string{`"uri": "dir/records%201.ndjson"`, `"startLine": 3`, `"security-severity": "8.0"`, `"name": "UsIctsControl"`, `"level": "error"`, `"fullyQualifiedName": "ip:47.88.1.1"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("SARIF lacks %s", want)
		}
	}
	// No findings: still a valid log with the rules.
	buf.Reset()
	if err := WriteSARIF(&buf, Tool{Name: "sovmap"}, set.Rules(), nil); err != nil {
		t.Fatal(err)
	}
	if err := ValidateSARIF(buf.Bytes()); err != nil || !strings.Contains(buf.String(), `"results": []`) {
		t.Errorf("empty SARIF: %v\n%s", err, buf.String())
	}
	// A finding of a rule the set does not hold is an error.
	if err := WriteSARIF(&buf, Tool{Name: "sovmap"}, nil, located); err == nil {
		t.Errorf("WriteSARIF(unknown rule) = nil error")
	}
	// The validator catches what it should.
	for _, bad := range []string{
		`{"version":"2.0.0","$schema":"sarif-2.1.0","runs":[]}`,
		`{"version":"2.1.0","$schema":"x","runs":[]}`,
		`{"version":"2.1.0","$schema":"sarif-2.1.0","runs":[{"tool":{"driver":{"rules":[]}},"results":[]}]}`,
		`{"version":"2.1.0","$schema":"sarif-2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"a"}]}},"results":[{"ruleId":"a","ruleIndex":0,"level":"error","message":{"text":"m"}}]}]}`,
		`{"version":"2.1.0","$schema":"sarif-2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"a"}]}},"results":[{"ruleId":"b","ruleIndex":0,"level":"error","message":{"text":"m"},"locations":[{"logicalLocations":[{"name":"n"}]}]}]}]}`,
		`{"version":"2.1.0","$schema":"sarif-2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"a"}]}},"results":[{"ruleId":"a","ruleIndex":0,"level":"fatal","message":{"text":"m"},"locations":[{"logicalLocations":[{"name":"n"}]}]}]}]}`,
	} {
		if ValidateSARIF([]byte(bad)) == nil {
			t.Errorf("ValidateSARIF(%s) = nil", bad)
		}
	}
}
