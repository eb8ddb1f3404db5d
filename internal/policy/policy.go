package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sovmap/sovmap/internal/iso"
)

// Record kinds that rules apply to.
const (
	KindIP         = "ip"         // an attribution record of "sovmap ip"
	KindScanLayer  = "scan-layer" // one layer (web, dns, mail) of a scanned domain
	KindFlowGroup  = "flow-group" // a group of flows (by control, provider, …)
	KindPopulation = "population" // a summary of a set of records
)

// Kinds lists the record kinds that rules may apply to.
var Kinds = []string{KindIP, KindScanLayer, KindFlowGroup, KindPopulation}

// A Source is the legal or business basis of a rule.
type Source struct {
	Title string `yaml:"title" json:"title"`
	URL   string `yaml:"url" json:"url"`
	Date  string `yaml:"date" json:"date"` // YYYY-MM-DD: publication or reading date
}

// A Policy is a named set of rules, as one file holds it.
type Policy struct {
	Name        string         // the policy's name ("us-icts"), or the file name
	Description string         // what the policy is for
	File        string         // the file it was read from, for messages
	Params      map[string]any // values the rules read as params.NAME
	Rules       []*Rule
}

// A Rule is one check. Its expression is true when a record breaks it.
type Rule struct {
	ID          string
	Title       string
	Description string // what the rule checks, in a sentence or two
	Severity    Severity
	AppliesTo   []string // record kinds, from Kinds
	Expr        string   // CEL, over r (the record) and params
	Message     string   // template: ${expr} is replaced by the value of a CEL expression
	Evidence    map[string]string
	Source      Source
	Policy      string // the name of the policy that holds the rule
	File        string
	Line        int // line of the rule in its file

	pos      map[string]position // where expr, message and evidence expressions start
	msgParts []msgPart
}

// position is where a YAML scalar's text starts, to place CEL errors.
type position struct {
	line, col int
	block     bool // a literal or folded block: later lines start at col too
}

// An Error is a problem in a policy file, with its place.
type Error struct {
	File   string
	Rule   string // rule ID, if the problem is in a rule
	Line   int    // 1-based; 0 if unknown
	Column int    // 1-based; 0 if unknown
	Msg    string
}

// Error returns "policy FILE:LINE:COL: rule ID: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, ": rule %s", e.Rule)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// fileDoc is the YAML form of a policy file.
type fileDoc struct {
	Policy      string         `yaml:"policy"`
	Description string         `yaml:"description"`
	Params      map[string]any `yaml:"params"`
	Rules       []fileRule     `yaml:"rules"`
}

type fileRule struct {
	ID          string            `yaml:"id"`
	Title       string            `yaml:"title"`
	Description string            `yaml:"description"`
	Severity    string            `yaml:"severity"`
	AppliesTo   []string          `yaml:"applies_to"`
	Expr        string            `yaml:"expr"`
	Message     string            `yaml:"message"`
	Evidence    map[string]string `yaml:"evidence"`
	Source      *Source           `yaml:"source"`
}

// maxPolicySize bounds a policy file, so that a wrong file given as a policy
// fails fast.
const maxPolicySize = 4 << 20

// Parse reads a policy file. Name is the file name, used in errors and as the
// policy's name when the file does not give one. Parse checks the structure
// (unknown fields are errors), the severities, kinds and sources, and the
// syntax of every expression; [Compile] type-checks the expressions.
func Parse(name string, r io.Reader) (*Policy, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPolicySize+1))
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	if len(b) > maxPolicySize {
		return nil, &Error{File: name, Msg: fmt.Sprintf("larger than %d bytes", maxPolicySize)}
	}
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "empty file: want a mapping with rules"}
		}
		return nil, yamlError(name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, yamlError(name, err)
	}
	lines := strings.Split(string(b), "\n")
	p := &Policy{Name: doc.Policy, Description: doc.Description, File: name, Params: doc.Params}
	if p.Name == "" {
		p.Name = baseName(name)
	}
	var errs []error
	bad := func(rule string, n *yaml.Node, format string, args ...any) {
		e := &Error{File: name, Rule: rule, Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			e.Line, e.Column = n.Line, n.Column
		}
		errs = append(errs, e)
	}
	top := docNode(&root)
	rulesNode := mapValue(top, "rules")
	if len(doc.Rules) == 0 {
		bad("", rulesNode, "no rules")
	}
	seen := map[string]bool{}
	for i, fr := range doc.Rules {
		var rn *yaml.Node
		if rulesNode != nil && rulesNode.Kind == yaml.SequenceNode && i < len(rulesNode.Content) {
			rn = rulesNode.Content[i]
		}
		field := func(key string) *yaml.Node {
			if v := mapValue(rn, key); v != nil {
				return v
			}
			return rn
		}
		id := fr.ID
		if id == "" {
			bad(fmt.Sprintf("#%d", i+1), rn, "no id")
			id = fmt.Sprintf("#%d", i+1)
		} else if !validID(id) {
			bad(id, field("id"), "id %q: use letters, digits, '-', '_', '.' and '/'", id)
		}
		if seen[id] {
			bad(id, field("id"), "duplicate rule id")
		}
		seen[id] = true
		rule := &Rule{
			ID: id, Title: fr.Title, Description: fr.Description, AppliesTo: fr.AppliesTo,
			Expr: strings.TrimSpace(fr.Expr), Message: strings.TrimSpace(fr.Message), Evidence: fr.Evidence,
			Policy: p.Name, File: name, pos: map[string]position{},
		}
		if rn != nil {
			rule.Line = rn.Line
		}
		if fr.Title == "" {
			bad(id, field("title"), "no title")
		}
		sev, err := ParseSeverity(fr.Severity)
		if err != nil || sev == SeverityNone {
			bad(id, field("severity"), "severity %q: want one of %s", fr.Severity, strings.Join(severityNames[1:], ", "))
		}
		rule.Severity = sev
		if len(fr.AppliesTo) == 0 {
			bad(id, field("applies_to"), "no applies_to: want one or more of %s", strings.Join(Kinds, ", "))
		}
		for _, k := range fr.AppliesTo {
			if !slices.Contains(Kinds, k) {
				bad(id, field("applies_to"), "applies_to %q: want one of %s", k, strings.Join(Kinds, ", "))
			}
		}
		if rule.Expr == "" {
			bad(id, field("expr"), "no expr")
		}
		if rule.Message == "" {
			bad(id, field("message"), "no message")
		}
		if fr.Source == nil {
			bad(id, field("source"), "no source: every rule cites its legal or business basis (title, url, date)")
		} else {
			rule.Source = *fr.Source
			sn := field("source")
			if rule.Source.Title == "" {
				bad(id, sn, "source has no title")
			}
			if !strings.HasPrefix(rule.Source.URL, "https://") && !strings.HasPrefix(rule.Source.URL, "http://") {
				bad(id, sn, "source url %q is not an http(s) URL", rule.Source.URL)
			}
			if !iso.IsDate(rule.Source.Date) {
				bad(id, sn, "source date %q is not YYYY-MM-DD", rule.Source.Date)
			}
		}
		rule.pos["expr"] = scalarPos(mapValue(rn, "expr"), lines)
		rule.pos["message"] = scalarPos(mapValue(rn, "message"), lines)
		if ev := mapValue(rn, "evidence"); ev != nil {
			for k, v := range fr.Evidence {
				rule.pos["evidence."+k] = scalarPos(mapValue(ev, k), lines)
				if strings.TrimSpace(v) == "" {
					bad(id, mapValue(ev, k), "evidence %q has no expression", k)
				}
			}
		}
		if rule.Expr != "" {
			if err := parseCEL(rule.Expr); err != nil {
				errs = append(errs, rule.celError("expr", err))
			}
		}
		parts, err := parseMessage(rule.Message)
		if err != nil {
			bad(id, field("message"), "message: %v", err)
		}
		rule.msgParts = parts
		for _, part := range parts {
			if part.expr == "" {
				continue
			}
			if err := parseCEL(part.expr); err != nil {
				errs = append(errs, rule.celErrorAt("message", part.offset, err))
			}
		}
		for k, v := range fr.Evidence {
			if err := parseCEL(v); err != nil {
				errs = append(errs, rule.celError("evidence."+k, err))
			}
		}
		p.Rules = append(p.Rules, rule)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// yamlError turns a YAML decoding error into an Error, keeping the line the
// decoder names.
func yamlError(name string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	e := &Error{File: name, Msg: msg}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		e.Msg = msg
	}
	// "line 7: field exprr not found in type policy.fileRule"
	if rest, ok := strings.CutPrefix(e.Msg, "line "); ok {
		var n int
		if _, err := fmt.Sscanf(rest, "%d:", &n); err == nil {
			e.Line = n
			_, e.Msg, _ = strings.Cut(rest, ": ")
		}
	}
	e.Msg = strings.ReplaceAll(e.Msg, "policy.fileRule", "rule")
	e.Msg = strings.ReplaceAll(e.Msg, "policy.fileDoc", "policy")
	e.Msg = strings.ReplaceAll(e.Msg, "policy.Source", "source")
	return e
}

func docNode(root *yaml.Node) *yaml.Node {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		return root.Content[0]
	}
	return root
}

// mapValue returns the value node of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalarPos returns where the text of a scalar node starts.
func scalarPos(n *yaml.Node, lines []string) position {
	if n == nil {
		return position{}
	}
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		return position{line: n.Line, col: n.Column + 1}
	case yaml.LiteralStyle, yaml.FoldedStyle:
		line := n.Line + 1
		col := 1
		if line-1 < len(lines) {
			l := lines[line-1]
			col = len(l) - len(strings.TrimLeft(l, " ")) + 1
		}
		return position{line: line, col: col, block: true}
	}
	return position{line: n.Line, col: n.Column}
}

func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	for _, ext := range []string{".yaml", ".yml"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

func validID(id string) bool {
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '-', r == '_', r == '.', r == '/':
		default:
			return false
		}
	}
	return id != ""
}

func validDate(d string) bool {
	if len(d) != 10 || d[4] != '-' || d[7] != '-' {
		return false
	}
	for i, r := range d {
		if i != 4 && i != 7 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
