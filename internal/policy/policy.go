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
	b, doc, root, err := decodeFile(name, r)
	if err != nil {
		return nil, err
	}
	p := &Policy{Name: doc.Policy, Description: doc.Description, File: name, Params: doc.Params}
	if p.Name == "" {
		p.Name = baseName(name)
	}
	ps := &parser{file: name, policy: p.Name, lines: strings.Split(string(b), "\n"), seen: map[string]bool{}}
	rulesNode := mapValue(docNode(root), "rules")
	if len(doc.Rules) == 0 {
		ps.bad("", rulesNode, "no rules")
	}
	for i := range doc.Rules {
		var rn *yaml.Node
		if rulesNode != nil && rulesNode.Kind == yaml.SequenceNode && i < len(rulesNode.Content) {
			rn = rulesNode.Content[i]
		}
		p.Rules = append(p.Rules, ps.rule(i, &doc.Rules[i], rn))
	}
	if len(ps.errs) > 0 {
		return nil, errors.Join(ps.errs...)
	}
	return p, nil
}

// decodeFile reads a policy file of at most maxPolicySize bytes and decodes
// it twice: into a fileDoc, unknown fields refused, and into a node tree,
// which places the problems found in its values.
func decodeFile(name string, r io.Reader) ([]byte, *fileDoc, *yaml.Node, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPolicySize+1))
	if err != nil {
		return nil, nil, nil, &Error{File: name, Msg: err.Error()}
	}
	if len(b) > maxPolicySize {
		return nil, nil, nil, &Error{File: name, Msg: fmt.Sprintf("larger than %d bytes", maxPolicySize)}
	}
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil, &Error{File: name, Msg: "empty file: want a mapping with rules"}
		}
		return nil, nil, nil, yamlError(name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, nil, nil, yamlError(name, err)
	}
	return b, &doc, &root, nil
}

// A parser checks the rules of one policy file, collecting every problem
// it finds with its place.
type parser struct {
	file   string
	policy string          // the policy's name
	lines  []string        // the file's lines, to place block scalars
	seen   map[string]bool // rule IDs so far
	errs   []error
}

// bad records a problem of a rule (or of the file, when rule is ""), at
// node n when it is known.
func (ps *parser) bad(rule string, n *yaml.Node, format string, args ...any) {
	e := &Error{File: ps.file, Rule: rule, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	ps.errs = append(ps.errs, e)
}

// field returns the node of a rule's field, or the rule's node when the
// field is missing, to place a problem of the field.
func field(rn *yaml.Node, key string) *yaml.Node {
	if v := mapValue(rn, key); v != nil {
		return v
	}
	return rn
}

// rule checks rule i of the file, fr, whose node is rn (nil if unknown),
// and returns it.
func (ps *parser) rule(i int, fr *fileRule, rn *yaml.Node) *Rule {
	id := ps.ruleID(i, fr.ID, rn)
	rule := &Rule{
		ID: id, Title: fr.Title, Description: fr.Description, AppliesTo: fr.AppliesTo,
		Expr: strings.TrimSpace(fr.Expr), Message: strings.TrimSpace(fr.Message), Evidence: fr.Evidence,
		Policy: ps.policy, File: ps.file, pos: map[string]position{},
	}
	if rn != nil {
		rule.Line = rn.Line
	}
	ps.checkFields(rule, fr, rn)
	ps.checkSource(rule, fr.Source, rn)
	ps.place(rule, rn)
	ps.parseExprs(rule, rn)
	return rule
}

// ruleID returns the ID of rule i, "#i" (1-based) when it has none, and
// records a missing, malformed or duplicate ID.
func (ps *parser) ruleID(i int, id string, rn *yaml.Node) string {
	if id == "" {
		id = fmt.Sprintf("#%d", i+1)
		ps.bad(id, rn, "no id")
	} else if !validID(id) {
		ps.bad(id, field(rn, "id"), "id %q: use letters, digits, '-', '_', '.' and '/'", id)
	}
	if ps.seen[id] {
		ps.bad(id, field(rn, "id"), "duplicate rule id")
	}
	ps.seen[id] = true
	return id
}

// checkFields checks the title, severity, kinds, expression and message of
// a rule, and sets its severity.
func (ps *parser) checkFields(rule *Rule, fr *fileRule, rn *yaml.Node) {
	id := rule.ID
	if fr.Title == "" {
		ps.bad(id, field(rn, "title"), "no title")
	}
	sev, err := ParseSeverity(fr.Severity)
	if err != nil || sev == SeverityNone {
		ps.bad(id, field(rn, "severity"), "severity %q: want one of %s", fr.Severity, strings.Join(severityNames[1:], ", "))
	}
	rule.Severity = sev
	if len(fr.AppliesTo) == 0 {
		ps.bad(id, field(rn, "applies_to"), "no applies_to: want one or more of %s", strings.Join(Kinds, ", "))
	}
	for _, k := range fr.AppliesTo {
		if !slices.Contains(Kinds, k) {
			ps.bad(id, field(rn, "applies_to"), "applies_to %q: want one of %s", k, strings.Join(Kinds, ", "))
		}
	}
	if rule.Expr == "" {
		ps.bad(id, field(rn, "expr"), "no expr")
	}
	if rule.Message == "" {
		ps.bad(id, field(rn, "message"), "no message")
	}
}

// checkSource checks the source that a rule cites, and sets it.
func (ps *parser) checkSource(rule *Rule, src *Source, rn *yaml.Node) {
	id, sn := rule.ID, field(rn, "source")
	if src == nil {
		ps.bad(id, sn, "no source: every rule cites its legal or business basis (title, url, date)")
		return
	}
	rule.Source = *src
	if src.Title == "" {
		ps.bad(id, sn, "source has no title")
	}
	if !strings.HasPrefix(src.URL, "https://") && !strings.HasPrefix(src.URL, "http://") {
		ps.bad(id, sn, "source url %q is not an http(s) URL", src.URL)
	}
	if !iso.IsDate(src.Date) {
		ps.bad(id, sn, "source date %q is not YYYY-MM-DD", src.Date)
	}
}

// place records where a rule's expressions start, to place CEL errors, and
// records evidence without an expression.
func (ps *parser) place(rule *Rule, rn *yaml.Node) {
	rule.pos["expr"] = scalarPos(mapValue(rn, "expr"), ps.lines)
	rule.pos["message"] = scalarPos(mapValue(rn, "message"), ps.lines)
	ev := mapValue(rn, "evidence")
	if ev == nil {
		return
	}
	for k, v := range rule.Evidence {
		rule.pos["evidence."+k] = scalarPos(mapValue(ev, k), ps.lines)
		if strings.TrimSpace(v) == "" {
			ps.bad(rule.ID, mapValue(ev, k), "evidence %q has no expression", k)
		}
	}
}

// parseExprs checks the syntax of a rule's expressions: its expr, the ${…}
// parts of its message, which it sets, and its evidence.
func (ps *parser) parseExprs(rule *Rule, rn *yaml.Node) {
	if rule.Expr != "" {
		if err := parseCEL(rule.Expr); err != nil {
			ps.errs = append(ps.errs, rule.celError("expr", err))
		}
	}
	parts, err := parseMessage(rule.Message)
	if err != nil {
		ps.bad(rule.ID, field(rn, "message"), "message: %v", err)
	}
	rule.msgParts = parts
	for _, part := range parts {
		if part.expr == "" {
			continue
		}
		if err := parseCEL(part.expr); err != nil {
			ps.errs = append(ps.errs, rule.celErrorAt("message", part.offset, err))
		}
	}
	for k, v := range rule.Evidence {
		if err := parseCEL(v); err != nil {
			ps.errs = append(ps.errs, rule.celError("evidence."+k, err))
		}
	}
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
