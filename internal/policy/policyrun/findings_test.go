package policyrun

import (
	"encoding/json"
	"testing"

	"github.com/sovmap/sovmap/internal/policy"
)

var testFindings = []policy.Finding{
	{Rule: "a/b", Title: "T <&>", Severity: policy.SeverityHigh, Message: "m \"q\" \u2028 é", Policy: "a",
		Evidence: map[string]any{"z": 1, "a": "x", "n": nil, "f": 0.5}, Source: policy.Source{Title: "S", URL: "https://x/?a=1&b=2", Date: "2024-01-01"}},
	{Rule: "c", Severity: policy.SeverityInfo},
}

func TestAppendFindings(t *testing.T) {
	t.Parallel()
	want, err := json.Marshal(testFindings)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendFindings(nil, testFindings); string(got) != string(want) {
		t.Errorf("AppendFindings =\n%s\nwant\n%s", got, want)
	}
}

func TestWithFindings(t *testing.T) {
	t.Parallel()
	fs, _ := json.Marshal(testFindings)
	tests := []struct {
		in   string
		fs   []policy.Finding
		want string
	}{
		{`{"a":1}`, nil, `{"a":1}`},
		{"{\"a\":1}\n", nil, "{\"a\":1}\n"},
		{`{"a":1}`, testFindings, `{"a":1,"findings":` + string(fs) + `}`},
		{"{\n  \"a\": 1\n}\n", testFindings[1:], "{\n  \"a\": 1\n,\"findings\":" + string(AppendFindings(nil, testFindings[1:])) + "}"},
	}
	for _, test := range tests {
		if got := WithFindings([]byte(test.in), test.fs); string(got) != test.want {
			t.Errorf("WithFindings(%q, %d findings) = %q, want %q", test.in, len(test.fs), got, test.want)
		}
	}
}
