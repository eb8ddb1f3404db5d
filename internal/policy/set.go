package policy

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// A Finding is a rule that a record breaks.
type Finding struct {
	Rule     string         `json:"rule"`
	Title    string         `json:"title"`
	Severity Severity       `json:"severity"`
	Message  string         `json:"message"`
	Policy   string         `json:"policy"`
	Evidence map[string]any `json:"evidence,omitempty"` // the record's fields the rule read, by path
	Source   Source         `json:"source"`
}

// A Set is a compiled group of policies, ready to evaluate. It is immutable
// and safe for concurrent use.
type Set struct {
	rules   []*compiled
	byKind  map[string][]*compiled
	timeout time.Duration // EvalTimeout; tests shorten it
}

// compiled is a rule with its programs.
type compiled struct {
	*Rule
	params   map[string]any
	prg      program
	msg      []compiledPart
	evidence []namedProgram  // explicit evidence, sorted by name
	paths    [][]string      // record paths the expression reads, for automatic evidence
	reads    map[string]bool // top-level fields read by expr and evidence
	whole    bool            // expr or evidence reads the record as a whole
	msgReads map[string]bool // top-level fields read by message parts other than a plain r.FIELD
	msgPlain map[string]bool // top-level fields that are a whole message part: ${r.FIELD}
	msgWhole bool            // a message part reads the record as a whole
}

type compiledPart struct {
	text string
	prg  program // prg.prg is nil for text
}

type namedProgram struct {
	name string
	prg  program
}

// An EvalError is a rule whose expression failed on a record. Evaluate
// treats such a rule as not broken. The error of an evaluation stopped by a
// limit wraps [ErrLimit].
type EvalError struct {
	Rule string
	Part string // "expr", "message" or "evidence.NAME"
	Err  error
}

// Error returns the rule, the part that failed and why.
func (e *EvalError) Error() string { return fmt.Sprintf("rule %s: %s: %v", e.Rule, e.Part, e.Err) }

// Unwrap returns the underlying error.
func (e *EvalError) Unwrap() error { return e.Err }

// Compile type-checks the rules of the policies against env and returns the
// set, or every problem found. Rule IDs must be unique across the policies.
// Arguments of in_group, group, on_list, affiliated and listing that are
// constants must name a group or list that env holds. An expression whose
// estimated worst-case cost is over [MaxCost] is refused.
func Compile(env Env, policies ...*Policy) (*Set, error) {
	ce, err := env.celEnv()
	if err != nil {
		return nil, fmt.Errorf("policy: CEL environment: %w", err)
	}
	s := &Set{byKind: map[string][]*compiled{}, timeout: EvalTimeout}
	var errs []error
	owner := map[string]string{}
	for _, p := range policies {
		for _, r := range p.Rules {
			if prev, dup := owner[r.ID]; dup {
				errs = append(errs, &Error{File: r.File, Rule: r.ID, Line: r.Line, Msg: "rule id also used in " + prev})
				continue
			}
			owner[r.ID] = r.File
			c := &compiled{Rule: r, params: p.Params, reads: map[string]bool{}, msgReads: map[string]bool{}, msgPlain: map[string]bool{}}
			if c.params == nil {
				c.params = map[string]any{}
			}
			prg, a, err := c.compile(ce, &env, "expr", 0, r.Expr, true)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			c.prg = prg
			c.analyse(a, true)
			for _, part := range r.msgParts {
				if part.expr == "" {
					c.msg = append(c.msg, compiledPart{text: part.text})
					continue
				}
				prg, a, err := c.compile(ce, &env, "message", part.offset, part.expr, false)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				if f, ok := plainField(a); ok {
					c.msgPlain[f] = true
				} else {
					fields, whole, _ := analyse(a)
					c.msgWhole = c.msgWhole || whole
					for f := range fields {
						c.msgReads[f] = true
					}
				}
				c.msg = append(c.msg, compiledPart{prg: prg})
			}
			names := make([]string, 0, len(r.Evidence))
			for k := range r.Evidence {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				prg, a, err := c.compile(ce, &env, "evidence."+k, 0, r.Evidence[k], false)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				c.analyse(a, false)
				c.evidence = append(c.evidence, namedProgram{k, prg})
			}
			s.rules = append(s.rules, c)
			for _, k := range r.AppliesTo {
				s.byKind[k] = append(s.byKind[k], c)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// compile checks one expression of the rule, its names and its cost, and
// builds its program.
func (c *compiled) compile(ce *cel.Env, env *Env, key string, offset int, expr string, wantBool bool) (program, *ast.AST, error) {
	a, iss := ce.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return program{}, nil, c.celErrorAt(key, offset, iss)
	}
	if wantBool && !a.OutputType().IsExactType(cel.BoolType) && !a.OutputType().IsExactType(cel.DynType) {
		return program{}, nil, c.errAt(key, offset, 1, fmt.Sprintf("%s: want a bool expression, got %s", key, a.OutputType()))
	}
	native := a.NativeRep()
	if err := c.checkNames(env, key, offset, native); err != nil {
		return program{}, nil, err
	}
	prg, err := c.program(ce, env, key, offset, a)
	if err != nil {
		return program{}, nil, err
	}
	return prg, native, nil
}

// errAt returns an Error at a column of an expression.
func (c *compiled) errAt(key string, offset, col int, msg string) *Error {
	p := c.pos[key]
	e := &Error{File: c.File, Rule: c.ID, Msg: msg}
	if p.line > 0 {
		e.Line, e.Column = p.line, p.col+offset+col-1
	}
	return e
}

// checkNames reports constant group and list names that env lacks.
func (c *compiled) checkNames(env *Env, key string, offset int, a *ast.AST) error {
	argIndex := map[string]int{"in_group": 1, "group": 0, "on_list": 1, "affiliated": 1, "listing": 1}
	for _, n := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.CallKind)) {
		call := n.AsCall()
		i, ok := argIndex[call.FunctionName()]
		if !ok || i >= len(call.Args()) {
			continue
		}
		arg := call.Args()[i]
		if arg.Kind() != ast.LiteralKind {
			continue
		}
		name, ok := arg.AsLiteral().(types.String)
		if !ok {
			continue
		}
		var known []string
		var what string
		if call.FunctionName() == "in_group" || call.FunctionName() == "group" {
			what = "group"
			if _, ok := env.Groups[string(name)]; ok {
				continue
			}
			for g := range env.Groups {
				known = append(known, g)
			}
		} else {
			what = "list"
			if _, ok := env.Lists[string(name)]; ok {
				continue
			}
			for l := range env.Lists {
				known = append(known, l)
			}
		}
		sort.Strings(known)
		loc := a.SourceInfo().GetStartLocation(arg.ID())
		msg := fmt.Sprintf("%s: %s: unknown %s %q (known: %s)", key, call.FunctionName(), what, string(name), strings.Join(known, ", "))
		return c.errAt(key, offset, loc.Column()+1, msg)
	}
	return nil
}

// analyse records the fields of r that an expression or evidence reads and,
// for the expression, the paths for automatic evidence.
func (c *compiled) analyse(a *ast.AST, evidence bool) {
	fields, whole, paths := analyse(a)
	c.whole = c.whole || whole
	for f := range fields {
		c.reads[f] = true
	}
	if evidence {
		for _, p := range paths {
			c.addPath(p)
		}
	}
}

// analyse returns the top-level fields of r that an expression reads,
// whether it uses r as a whole, and the paths it selects (r.a.b → [a b]).
func analyse(a *ast.AST) (fields map[string]bool, whole bool, paths [][]string) {
	fields = map[string]bool{}
	for _, n := range ast.MatchDescendants(ast.NavigateAST(a), ast.KindMatcher(ast.IdentKind)) {
		if n.AsIdent() != "r" {
			continue
		}
		var path []string
		cur := n
		for {
			parent, ok := cur.Parent()
			if !ok {
				break
			}
			field, ok := fieldOf(parent, cur)
			if !ok {
				break
			}
			path = append(path, field)
			cur = parent
		}
		if len(path) == 0 {
			whole = true
			continue
		}
		fields[path[0]] = true
		paths = append(paths, path)
	}
	return fields, whole, paths
}

// plainField reports whether an expression is exactly r.FIELD.
func plainField(a *ast.AST) (string, bool) {
	e := a.Expr()
	if e.Kind() != ast.SelectKind || e.AsSelect().IsTestOnly() {
		return "", false
	}
	op := e.AsSelect().Operand()
	if op.Kind() != ast.IdentKind || op.AsIdent() != "r" {
		return "", false
	}
	return e.AsSelect().FieldName(), true
}

// fieldOf returns the field that parent selects from child: r.f, r.?f or
// r["f"].
func fieldOf(parent, child ast.NavigableExpr) (string, bool) {
	switch parent.Kind() {
	case ast.SelectKind:
		return parent.AsSelect().FieldName(), true
	case ast.CallKind:
		call := parent.AsCall()
		fn := call.FunctionName()
		if (fn == operators.OptSelect || fn == operators.Index || fn == operators.OptIndex) && len(call.Args()) == 2 && call.Args()[0].ID() == child.ID() {
			if lit := call.Args()[1]; lit.Kind() == ast.LiteralKind {
				if s, ok := lit.AsLiteral().(types.String); ok {
					return string(s), true
				}
			}
		}
	}
	return "", false
}

// addPath adds a path for evidence, keeping only the longest of paths that
// extend one another.
func (c *compiled) addPath(path []string) {
	for i, p := range c.paths {
		switch {
		case len(p) >= len(path) && slices.Equal(p[:len(path)], path):
			return
		case len(path) > len(p) && slices.Equal(path[:len(p)], p):
			c.paths[i] = path
			return
		}
	}
	c.paths = append(c.paths, path)
}

// activation resolves r and params without allocating a map per record.
type activation struct {
	r      any
	params any
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "r":
		return a.r, true
	case "params":
		return a.params, true
	}
	return nil, false
}

// Parent implements interpreter.Activation: there is none.
func (a *activation) Parent() interpreter.Activation { return nil }

// Evaluate returns the findings of the rules that apply to the kind of
// record, most severe first. A rule whose expression fails on the record
// (a missing field, a wrong type) is not broken, nor is one stopped by a
// limit ([ErrLimit]): callers that must tell use Check.
func (s *Set) Evaluate(kind string, rec map[string]any) []Finding {
	fs, _ := s.Check(kind, rec)
	return fs
}

// Check is Evaluate that also returns the errors of rules that failed on the
// record, as *EvalError values: "sovmap policy test" shows them, and the
// commands report those that wrap [ErrLimit].
func (s *Set) Check(kind string, rec map[string]any) ([]Finding, []error) {
	rules := s.byKind[kind]
	if len(rules) == 0 {
		return nil, nil
	}
	var out []Finding
	var errs []error
	act := &activation{r: rec}
	for _, c := range rules {
		act.params = c.params
		v, err := s.eval(c.prg, act)
		if err != nil {
			errs = append(errs, &EvalError{Rule: c.ID, Part: "expr", Err: err})
			continue
		}
		if b, ok := v.(types.Bool); !ok || !bool(b) {
			if !ok {
				errs = append(errs, &EvalError{Rule: c.ID, Part: "expr", Err: fmt.Errorf("got %s, want bool", v.Type().TypeName())})
			}
			continue
		}
		f := Finding{Rule: c.ID, Title: c.Title, Severity: c.Severity, Policy: c.Policy, Source: c.Source}
		var msg strings.Builder
		for _, p := range c.msg {
			if p.prg.prg == nil {
				msg.WriteString(p.text)
				continue
			}
			v, err := s.eval(p.prg, act)
			if err != nil {
				errs = append(errs, &EvalError{Rule: c.ID, Part: "message", Err: err})
				msg.WriteString("?")
				continue
			}
			msg.WriteString(formatValue(v))
		}
		f.Message = msg.String()
		f.Evidence = s.evidenceOf(c, act, rec, &errs)
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return out, errs
}

// evidenceOf returns the explicit evidence of the rule, or the values of the
// record paths its expressions read.
func (s *Set) evidenceOf(c *compiled, act *activation, rec map[string]any, errs *[]error) map[string]any {
	if len(c.evidence) > 0 {
		ev := make(map[string]any, len(c.evidence))
		for _, e := range c.evidence {
			v, err := s.eval(e.prg, act)
			if err != nil {
				*errs = append(*errs, &EvalError{Rule: c.ID, Part: "evidence." + e.name, Err: err})
				continue
			}
			ev[e.name] = nativeOf(v)
		}
		return ev
	}
	var ev map[string]any
	for _, p := range c.paths {
		v, ok := lookup(rec, p)
		if !ok {
			continue
		}
		if ev == nil {
			ev = map[string]any{}
		}
		ev[strings.Join(p, ".")] = v
	}
	return ev
}

// lookup returns the value at a path of a record.
func lookup(rec map[string]any, path []string) (any, bool) {
	var cur any = rec
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// nativeOf converts a CEL value to a JSON-friendly Go value.
func nativeOf(v ref.Val) any {
	switch x := v.(type) {
	case types.String, types.Bool, types.Int, types.Uint, types.Double:
		return x.Value()
	case types.Null:
		return nil
	}
	return formatValue(v)
}

// Applies reports whether any rule of the set applies to the kind of record.
func (s *Set) Applies(kind string) bool { return len(s.byKind[kind]) > 0 }

// Reads returns the top-level fields of a record of the kind that the rules
// read (in expressions, evidence and messages), sorted, and whether some rule
// reads the record as a whole (passes r to a function, iterates over it).
func (s *Set) Reads(kind string) (fields []string, whole bool) {
	seen := map[string]bool{}
	for _, c := range s.byKind[kind] {
		whole = whole || c.whole || c.msgWhole
		for _, m := range []map[string]bool{c.reads, c.msgReads, c.msgPlain} {
			for f := range m {
				seen[f] = true
			}
		}
	}
	for f := range seen {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return fields, whole
}

// ExprReads returns the top-level fields of a record of the kind that the
// rules' expressions and evidence read, sorted, and whether one reads the
// record as a whole. Which rules a record breaks depends only on these
// fields (messages may read more): a caller may remember that records equal
// in them break nothing.
func (s *Set) ExprReads(kind string) (fields []string, whole bool) {
	seen := map[string]bool{}
	for _, c := range s.byKind[kind] {
		whole = whole || c.whole
		for f := range c.reads {
			seen[f] = true
		}
	}
	for f := range seen {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return fields, whole
}

// Cacheable reports whether the findings for records of the kind depend on
// the varying fields only through the text of messages, where they appear as
// plain ${r.FIELD} parts. Then a caller that sees many records equal but for
// those fields (the addresses of one route) may evaluate once with
// placeholder strings for them and substitute the real values into the
// messages. No rule may read the record as a whole.
func (s *Set) Cacheable(kind string, varying ...string) bool {
	for _, c := range s.byKind[kind] {
		if c.whole || c.msgWhole {
			return false
		}
		for _, f := range varying {
			if c.reads[f] || c.msgReads[f] {
				return false
			}
		}
	}
	return true
}

// Rules returns the rules of the set, in policy order.
func (s *Set) Rules() []*Rule {
	out := make([]*Rule, len(s.rules))
	for i, c := range s.rules {
		out[i] = c.Rule
	}
	return out
}
