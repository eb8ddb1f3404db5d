package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Record returns the map form of a JSON-marshalable value, as rules see it:
// objects become map[string]any, arrays []any, integral numbers int64 and
// other numbers float64. It is how any record of sovmap (or of another tool)
// reaches the rules without the policy layer knowing its Go type.
func Record(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("policy: record: %w", err)
	}
	return RecordJSON(b)
}

// RecordJSON decodes one JSON object into the map form of [Record].
func RecordJSON(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("policy: record: %w", err)
	}
	if dec.More() {
		return nil, errors.New("policy: record: more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("policy: record: not a JSON object")
	}
	return numbers(m).(map[string]any), nil
}

// numbers replaces json.Number values in place by int64 or float64.
func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = numbers(val)
		}
	case []any:
		for i, val := range x {
			x[i] = numbers(val)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return x.String()
	}
	return v
}

// DetectKind returns the kind of a record from its fields: an explicit
// "kind" field naming a kind, else "ip" for an attribution record (a string
// ip and no error), "scan-layer" for an object with domain and layer,
// "population" for an object with population, "flow-group" for an object
// with bytes, packets or flows. It returns "domain" for a scan record with
// layers (see [Layers]), "flows" for a flows summary with groups of rows
// (see [FlowRows]), and "" for an error record ({"input","error"}) or an
// unknown shape.
func DetectKind(rec map[string]any) string {
	if k, ok := rec["kind"].(string); ok {
		for _, known := range Kinds {
			if k == known {
				return k
			}
		}
	}
	if _, isErr := rec["error"]; isErr {
		return ""
	}
	_, hasDomain := rec["domain"].(string)
	switch {
	case isString(rec["ip"]):
		return KindIP
	case hasDomain && isString(rec["layer"]):
		return KindScanLayer
	case hasDomain && rec["layers"] != nil:
		return "domain"
	case rec["population"] != nil:
		return KindPopulation
	case rec["groups"] != nil:
		return "flows"
	case rec["bytes"] != nil || rec["packets"] != nil || rec["flows"] != nil:
		return KindFlowGroup
	}
	return ""
}

func isString(v any) bool {
	s, ok := v.(string)
	return ok && s != ""
}

// Layers splits a scan record ({"domain": …, "layers": …}) into scan-layer
// records, each with the domain, the layer's name and the layer's content.
// Layers may be an object keyed by layer name, whose values are objects
// (their fields are copied) or lists (kept as "hosts"), or a list of objects
// that name their layer in "layer" or "name". Layers come out sorted by name.
func Layers(rec map[string]any) []map[string]any {
	domain, _ := rec["domain"].(string)
	var out []map[string]any
	add := func(name string, v any) {
		l := map[string]any{}
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				l[k] = val
			}
		default:
			l["hosts"] = v
		}
		l["domain"] = domain
		l["layer"] = name
		if st, ok := rec["status"]; ok {
			if _, has := l["status"]; !has {
				l["status"] = st
			}
		}
		out = append(out, l)
	}
	switch x := rec["layers"].(type) {
	case map[string]any:
		for name, v := range x {
			add(name, v)
		}
	case []any:
		for _, v := range x {
			m, ok := v.(map[string]any)
			if !ok {
				continue
			}
			name, _ := m["layer"].(string)
			if name == "" {
				name, _ = m["name"].(string)
			}
			if name != "" {
				add(name, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["layer"].(string) < out[j]["layer"].(string) })
	return out
}

// FlowRows splits a flows summary ({"groups":[{"by":…,"rows":[…]}…]}, as
// "sovmap flows --json" writes it) into flow-group records: each row, with
// the dimension it was grouped by as "by".
func FlowRows(rec map[string]any) []map[string]any {
	var out []map[string]any
	groups, _ := rec["groups"].([]any)
	for _, g := range groups {
		gm, ok := g.(map[string]any)
		if !ok {
			continue
		}
		by, _ := gm["by"].(string)
		rows, _ := gm["rows"].([]any)
		for _, r := range rows {
			rm, ok := r.(map[string]any)
			if !ok {
				continue
			}
			row := make(map[string]any, len(rm)+1)
			for k, v := range rm {
				row[k] = v
			}
			if by != "" {
				row["by"] = by
			}
			out = append(out, row)
		}
	}
	return out
}

// Subject names what a record is about, for messages and SARIF locations:
// the address of an ip record, "domain layer" of a scan layer, the group of
// a flow group, the name of a population.
func Subject(kind string, rec map[string]any) string {
	str := func(k string) string { s, _ := rec[k].(string); return s }
	switch kind {
	case KindIP:
		return str("ip")
	case KindScanLayer:
		return strings.TrimSpace(str("domain") + " " + str("layer"))
	case KindPopulation:
		if s := str("population"); s != "" {
			return s
		}
		return "population"
	case KindFlowGroup:
		for _, k := range []string{"key", "group", "control", "provider", "remote"} {
			if s := str(k); s != "" {
				if by := str("by"); by != "" && k == "key" {
					return by + " " + s
				}
				return s
			}
		}
		return "flows"
	}
	return ""
}
