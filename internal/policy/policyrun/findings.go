package policyrun

import (
	"bytes"
	"encoding/json"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/policy"
)

// AppendFindings appends findings as a JSON array, as encoding/json encodes
// them (TestAppendFindings keeps the two equal), without reflection: ip
// --json --policy encodes the findings of every route this way.
func AppendFindings(b []byte, fs []policy.Finding) []byte {
	b = append(b, '[')
	for i := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFinding(b, &fs[i])
	}
	return append(b, ']')
}

func appendFinding(b []byte, f *policy.Finding) []byte {
	b = append(b, `{"rule":`...)
	b = attribution.AppendJSONString(b, f.Rule)
	b = append(b, `,"title":`...)
	b = attribution.AppendJSONString(b, f.Title)
	b = append(b, `,"severity":`...)
	b = attribution.AppendJSONString(b, f.Severity.String())
	b = append(b, `,"message":`...)
	b = attribution.AppendJSONString(b, f.Message)
	b = append(b, `,"policy":`...)
	b = attribution.AppendJSONString(b, f.Policy)
	if len(f.Evidence) > 0 {
		if ev, err := json.Marshal(f.Evidence); err == nil {
			b = append(b, `,"evidence":`...)
			b = append(b, ev...)
		}
	}
	b = append(b, `,"source":{"title":`...)
	b = attribution.AppendJSONString(b, f.Source.Title)
	b = append(b, `,"url":`...)
	b = attribution.AppendJSONString(b, f.Source.URL)
	b = append(b, `,"date":`...)
	b = attribution.AppendJSONString(b, f.Source.Date)
	return append(b, "}}"...)
}

// WithFindings returns a JSON object, b, with the findings added as its
// last field "findings"; b is returned as it is when there are none. B must
// end with '}', before any spaces and newlines, which are dropped.
func WithFindings(b []byte, fs []policy.Finding) []byte {
	if len(fs) == 0 {
		return b
	}
	b = bytes.TrimRight(b, " \n")
	b = append(b[:len(b)-1], `,"findings":`...)
	b = AppendFindings(b, fs)
	return append(b, '}')
}
