package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
)

// An Env is what rules may look up besides the record: jurisdiction groups,
// the parent chain of companies, and restricted-entity lists. It is plain
// data and functions, so that evaluation needs no file or network access.
// The zero Env is valid: no groups, no parents, no lists.
type Env struct {
	// Groups maps a jurisdiction group ID (foreign-adversary-us, eu-eea, …)
	// to its ISO 3166-1 alpha-2 country codes.
	Groups map[string][]string
	// Parents returns the parent chain of a company, nearest parent first,
	// without the company itself; nil when the company has no known parent.
	Parents func(companyID string) []string
	// Lists maps a restricted-entity list ID (fcc-covered, ndaa-889) to the
	// companies it names.
	Lists map[string]*List
}

// A List is a restricted-entity list as rules see it: links from company IDs
// of the catalog to the list's entries.
type List struct {
	ID    string
	Name  string // "FCC Covered List"
	Links map[string]Link
}

// Link relations.
const (
	// RelationEntity links the listed entity itself; its subsidiaries (every
	// company whose parent chain reaches it) are covered too.
	RelationEntity = "entity"
	// RelationGroup links the parent of a listed entity: the companies below
	// it are affiliates of the listed entity (under common control), which
	// the lists say to read as included, but which are reported apart.
	RelationGroup = "group"
)

// A Link ties a catalog company to an entry of a list.
type Link struct {
	Entry    string // the list entry's ID
	Name     string // the entry's name as the list gives it
	Since    string // YYYY-MM-DD: when the entry was added
	Scope    string // what the entry covers
	Source   string // URL of the listing
	Relation string // RelationEntity or RelationGroup
}

// knownFuncs are the functions the Env adds to CEL, with their help, for
// documentation and "sovmap policy list".
var knownFuncs = []struct{ sig, doc string }{
	{"in_group(country, group) bool", "the country code is in the jurisdiction group (foreign-adversary-us, eu-eea, eu, …)"},
	{"group(group) list(string)", "the country codes of a jurisdiction group"},
	{"chain(company) list(string)", "the company ID and its parents' IDs, nearest first"},
	{"on_list(company, list) bool", "the company or one of its parents is an entry of the list (fcc-covered, ndaa-889)"},
	{"affiliated(company, list) bool", "the company is not on the list but sits under the same parent as an entry (an affiliate)"},
	{"listing(company, list) map(string, string)", "how the company is tied to the list: entry, name, since, scope, source, relation, via; empty when not"},
	{"providers(record) list(string)", "the provider IDs found anywhere in a record (for layers and groups that embed attribution records)"},
	{"controls(record) list(string)", "the control countries found anywhere in a record, catalog-backed ones only (control.source \"registry\" and registry_control are left out)"},
	{"registry_controls(record) list(string)", "the control countries found anywhere in a record that come from the registry alone (the AS holder's registration: control.source \"registry\", or a flow group's registry_control)"},
	{"locations(record) list(string)", "the location countries found anywhere in a record, anycast locations left out (they are served from many countries)"},
	{"operators(record) list(string)", "the operator company IDs found anywhere in a record"},
	{"unattributed(record) int", "how many embedded attribution records (objects with an ip) have no provider"},
}

// Functions returns the signatures and descriptions of the functions that
// rules may call besides CEL's standard library and the ext strings, lists,
// math and sets libraries.
func Functions() [][2]string {
	out := make([][2]string, len(knownFuncs))
	for i, f := range knownFuncs {
		out[i] = [2]string{f.sig, f.doc}
	}
	return out
}

// celEnv returns the CEL environment of an Env.
func (e *Env) celEnv() (*cel.Env, error) {
	str, boolT, intT := cel.StringType, cel.BoolType, cel.IntType
	strList := cel.ListType(cel.StringType)
	return cel.NewEnv(
		cel.Variable("r", cel.DynType),
		cel.Variable("params", cel.MapType(cel.StringType, cel.DynType)),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(), ext.Lists(), ext.Math(), ext.Sets(),
		cel.Function("in_group", cel.Overload("in_group_string_string", []*cel.Type{str, str}, boolT,
			cel.BinaryBinding(func(c, g ref.Val) ref.Val {
				cs, gs, err := twoStrings(c, g)
				if err != nil {
					return err
				}
				countries, ok := e.Groups[gs]
				if !ok {
					return types.NewErr("in_group: unknown group %q", gs)
				}
				return types.Bool(slices.Contains(countries, strings.ToUpper(cs)))
			}))),
		cel.Function("group", cel.Overload("group_string", []*cel.Type{str}, strList,
			cel.UnaryBinding(func(g ref.Val) ref.Val {
				gs, ok := g.(types.String)
				if !ok {
					return types.MaybeNoSuchOverloadErr(g)
				}
				countries, found := e.Groups[string(gs)]
				if !found {
					return types.NewErr("group: unknown group %q", string(gs))
				}
				return types.NewStringList(types.DefaultTypeAdapter, countries)
			}))),
		cel.Function("chain", cel.Overload("chain_string", []*cel.Type{str}, strList,
			cel.UnaryBinding(func(id ref.Val) ref.Val {
				s, ok := id.(types.String)
				if !ok {
					return types.MaybeNoSuchOverloadErr(id)
				}
				return types.NewStringList(types.DefaultTypeAdapter, e.chain(string(s)))
			}))),
		cel.Function("on_list", cel.Overload("on_list_string_string", []*cel.Type{str, str}, boolT,
			cel.BinaryBinding(func(id, list ref.Val) ref.Val {
				l, ok, err := e.link(id, list)
				if err != nil {
					return err
				}
				return types.Bool(ok && l.Relation == RelationEntity)
			}))),
		cel.Function("affiliated", cel.Overload("affiliated_string_string", []*cel.Type{str, str}, boolT,
			cel.BinaryBinding(func(id, list ref.Val) ref.Val {
				l, ok, err := e.link(id, list)
				if err != nil {
					return err
				}
				return types.Bool(ok && l.Relation == RelationGroup)
			}))),
		cel.Function("listing", cel.Overload("listing_string_string", []*cel.Type{str, str}, cel.MapType(str, str),
			cel.BinaryBinding(func(id, list ref.Val) ref.Val {
				l, ok, err := e.link(id, list)
				if err != nil {
					return err
				}
				m := map[string]string{}
				if ok {
					m = map[string]string{
						"entry": l.Entry, "name": l.Name, "since": l.Since, "scope": l.Scope,
						"source": l.Source, "relation": l.relationText(), "via": l.via,
					}
				}
				return types.DefaultTypeAdapter.NativeToValue(m)
			}))),
		cel.Function("providers", cel.Overload("providers_dyn", []*cel.Type{cel.DynType}, strList,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				return types.NewStringList(types.DefaultTypeAdapter, collect(v.Value(), "provider", "id"))
			}))),
		cel.Function("controls", cel.Overload("controls_dyn", []*cel.Type{cel.DynType}, strList,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				return types.NewStringList(types.DefaultTypeAdapter, collectWhere(v.Value(), "control", "country", notRegistry))
			}))),
		cel.Function("registry_controls", cel.Overload("registry_controls_dyn", []*cel.Type{cel.DynType}, strList,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				out := collectWhere(v.Value(), "control", "country", fromRegistry)
				out = append(out, collect(v.Value(), "registry_control", "country")...)
				slices.Sort(out)
				return types.NewStringList(types.DefaultTypeAdapter, slices.Compact(out))
			}))),
		cel.Function("locations", cel.Overload("locations_dyn", []*cel.Type{cel.DynType}, strList,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				return types.NewStringList(types.DefaultTypeAdapter, collectWhere(v.Value(), "location", "country", notAnycast))
			}))),
		cel.Function("operators", cel.Overload("operators_dyn", []*cel.Type{cel.DynType}, strList,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				return types.NewStringList(types.DefaultTypeAdapter, collect(v.Value(), "operator", "id"))
			}))),
		cel.Function("unattributed", cel.Overload("unattributed_dyn", []*cel.Type{cel.DynType}, intT,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				return types.Int(countUnattributed(v.Value(), 0))
			}))),
	)
}

func twoStrings(a, b ref.Val) (string, string, ref.Val) {
	as, ok1 := a.(types.String)
	bs, ok2 := b.(types.String)
	if !ok1 {
		return "", "", types.MaybeNoSuchOverloadErr(a)
	}
	if !ok2 {
		return "", "", types.MaybeNoSuchOverloadErr(b)
	}
	return string(as), string(bs), nil
}

// chain returns the company and its parents.
func (e *Env) chain(id string) []string {
	out := []string{id}
	if e.Parents != nil {
		out = append(out, e.Parents(id)...)
	}
	return out
}

// linkVia is a Link found through a company of a chain.
type linkVia struct {
	Link
	via  string // the company of the chain that the list links
	self bool   // the company itself is linked (not a parent)
}

func (l linkVia) relationText() string {
	switch {
	case l.Relation == RelationGroup:
		return fmt.Sprintf("affiliate of %s (under the same parent %s)", l.Name, l.via)
	case l.self:
		return "listed entity " + l.Name
	default:
		return fmt.Sprintf("subsidiary of %s (%s)", l.Name, l.via)
	}
}

// link returns the first link of the company's chain to the list: an entity
// link is preferred to a group link at any depth.
func (e *Env) link(idv, listv ref.Val) (linkVia, bool, ref.Val) {
	id, listID, err := twoStrings(idv, listv)
	if err != nil {
		return linkVia{}, false, err
	}
	list, ok := e.Lists[listID]
	if !ok {
		return linkVia{}, false, types.NewErr("unknown list %q", listID)
	}
	if id == "" {
		return linkVia{}, false, nil
	}
	var group *linkVia
	for i, c := range e.chain(id) {
		l, ok := list.Links[c]
		if !ok {
			continue
		}
		if l.Relation == RelationEntity {
			return linkVia{Link: l, via: c, self: i == 0}, true, nil
		}
		if group == nil {
			group = &linkVia{Link: l, via: c, self: i == 0}
		}
	}
	if group != nil {
		return *group, true, nil
	}
	return linkVia{}, false, nil
}

// collect returns the distinct values found under key anywhere in v: the
// string itself, or the string field sub of an object.
func collect(v any, key, sub string) []string {
	return collectWhere(v, key, sub, nil)
}

// notRegistry keeps the control objects that the catalog backs (and a
// flow group's control string, o nil).
func notRegistry(o map[string]any) bool { return o == nil || o["source"] != "registry" }

// fromRegistry keeps the control objects that come from the registry.
func fromRegistry(o map[string]any) bool { return o != nil && o["source"] == "registry" }

// notAnycast keeps the location objects that are not anycast.
func notAnycast(o map[string]any) bool { return o == nil || o["anycast"] != true }

// collectWhere is collect of the values whose object keep accepts (keep
// is given nil for a plain string); a nil keep accepts all.
func collectWhere(v any, key, sub string, keep func(map[string]any) bool) []string {
	seen := map[string]bool{}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 32 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if k == key {
					switch y := val.(type) {
					case string:
						if y != "" && (keep == nil || keep(nil)) {
							seen[y] = true
						}
						continue
					case map[string]any:
						if s, ok := y[sub].(string); ok && s != "" && (keep == nil || keep(y)) {
							seen[s] = true
						}
						continue
					}
				}
				walk(val, depth+1)
			}
		case []any:
			for _, val := range x {
				walk(val, depth+1)
			}
		}
	}
	walk(v, 0)
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// countUnattributed counts embedded attribution records without a provider.
func countUnattributed(v any, depth int) int {
	if depth > 32 {
		return 0
	}
	n := 0
	switch x := v.(type) {
	case map[string]any:
		if _, isRec := x["ip"].(string); isRec {
			if _, err := x["error"]; !err {
				if _, has := x["provider"]; !has {
					n++
				}
			}
		}
		for k, val := range x {
			if k == "provider" || k == "operator" || k == "parent" || k == "control" {
				continue
			}
			n += countUnattributed(val, depth+1)
		}
	case []any:
		for _, val := range x {
			n += countUnattributed(val, depth+1)
		}
	}
	return n
}

// parseEnv is the environment for syntax checks: parsing needs no
// declarations.
var parseEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(cel.OptionalTypes(), ext.Strings(), ext.Lists(), ext.Math(), ext.Sets())
})

// parseCEL checks the syntax of an expression.
func parseCEL(expr string) *cel.Issues {
	env, err := parseEnv()
	if err != nil {
		panic(err) // a static environment: cannot fail
	}
	_, iss := env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return iss
	}
	return nil
}

// celError returns the first CEL issue as an Error placed in the file.
func (r *Rule) celError(key string, iss *cel.Issues) *Error {
	return r.celErrorAt(key, 0, iss)
}

// celErrorAt is celError for an expression that starts offset bytes into the
// YAML scalar (a ${…} of a message).
func (r *Rule) celErrorAt(key string, offset int, iss *cel.Issues) *Error {
	e := &Error{File: r.File, Rule: r.ID}
	p := r.pos[key]
	errs := iss.Errors()
	if len(errs) == 0 {
		e.Msg = key + ": " + iss.String()
		e.Line, e.Column = p.line, p.col
		return e
	}
	ce := errs[0]
	e.Msg = key + ": " + ce.Message
	line, col := ce.Location.Line(), ce.Location.Column()
	if p.line == 0 {
		return e
	}
	if line <= 1 {
		e.Line, e.Column = p.line, p.col+offset+col
	} else {
		e.Line, e.Column = p.line+line-1, col+1
		if p.block {
			e.Column = p.col + col
		}
	}
	return e
}
