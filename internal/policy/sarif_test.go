package policy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sovmap/sovmap/internal/policy/sariftest"
)

// validateSARIF validates a SARIF log against the official schema.
func validateSARIF(t *testing.T, b []byte) error {
	t.Helper()
	return sariftest.Validate(b)
}

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
	if err := WriteSARIF(&buf, Tool{Name: "sovmap", Version: "test", InformationURI: "https://github.com/sovmap/sovmap"}, set.Rules(), located); err != nil {
		t.Fatal(err)
	}
	if err := validateSARIF(t, buf.Bytes()); err != nil {
		t.Errorf("SARIF log is not valid SARIF 2.1.0: %v\n%s", err, buf.String())
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
	if err := validateSARIF(t, buf.Bytes()); err != nil || !strings.Contains(buf.String(), `"results": []`) {
		t.Errorf("empty SARIF: %v\n%s", err, buf.String())
	}
	// A finding of a rule the set does not hold is an error.
	if err := WriteSARIF(&buf, Tool{Name: "sovmap"}, nil, located); err == nil {
		t.Errorf("WriteSARIF(unknown rule) = nil error")
	}
}

// TestSARIFSchema checks that the schema the tests validate against
// rejects what SARIF 2.1.0 forbids, so that a valid log means something.
func TestSARIFSchema(t *testing.T) {
	t.Parallel()
	const ok = `{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"a"}]}},"results":[{"ruleId":"a","ruleIndex":0,"level":"error","message":{"text":"m"},"locations":[{"logicalLocations":[{"name":"n"}]}]}]}]}`
	if err := validateSARIF(t, []byte(ok)); err != nil {
		t.Fatalf("a minimal valid log: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(ok, `"2.1.0"`, `"2.0.0"`, 1),                                             // version
		strings.Replace(ok, `"https://json.schemastore.org/sarif-2.1.0.json"`, `"not a uri"`, 1), // $schema format
		strings.Replace(ok, `"name":"x",`, ``, 1),                                                // tool.driver.name required
		strings.Replace(ok, `"level":"error"`, `"level":"fatal"`, 1),                             // level enumeration
		strings.Replace(ok, `"message":{"text":"m"}`, `"message":{}`, 1),                         // message needs text or id
		strings.Replace(ok, `"ruleIndex":0`, `"ruleIndex":-2`, 1),                                // ruleIndex ≥ -1
		strings.Replace(ok, `"runs":[`, `"extra":1,"runs":[`, 1),                                 // no additional properties
	} {
		if validateSARIF(t, []byte(bad)) == nil {
			t.Errorf("the schema accepts %s", bad)
		}
	}
}
