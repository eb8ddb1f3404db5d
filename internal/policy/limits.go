package policy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// Limits of rule evaluation. A rule is CEL, which cannot loop forever, but
// nested comprehensions multiply: nine nested "[0,…,9].all(…)" run 10⁹
// times. Every expression of a rule (its expr, each ${…} of its message,
// each evidence expression) is held to them separately.
const (
	// MaxCost bounds the cost of one evaluation of an expression, in CEL
	// cost units (one per operation, more for operations on strings and
	// lists; a unit takes 50–200 ns). An evaluation that reaches it stops
	// with an error wrapping [ErrLimit]. [Compile] refuses an expression
	// whose estimated worst-case cost is over it on records of the sizes
	// SizeHint and NestedSizeHint.
	MaxCost = 1_000_000
	// SizeHint is the length that Compile assumes for the record itself
	// and each list, map and string in its fields when it estimates the
	// cost of an expression.
	SizeHint = 100
	// NestedSizeHint is the length assumed for the lists, maps and strings
	// inside an element of a list or map of the record (the addresses of
	// each host of a scan layer): the record holds SizeHint hosts of
	// NestedSizeHint addresses. Params are measured exactly.
	NestedSizeHint = 10
	// EvalTimeout bounds the time of one evaluation of an expression whose
	// cost depends on the record. It catches what the cost does not count
	// (the functions that walk the whole record count 1), on a machine fast
	// enough to reach MaxCost well before it.
	EvalTimeout = time.Second
	// interruptEvery is how many comprehension iterations run between two
	// checks of the deadline.
	interruptEvery = 100
)

// ErrLimit is wrapped by the [EvalError] of an evaluation stopped by
// [MaxCost] or [EvalTimeout]. Such a rule is not broken by the record, as
// for any other evaluation error, but unlike a missing field it says nothing
// about the record: callers report it.
var ErrLimit = errors.New("evaluation limit exceeded")

// program is a compiled expression. An expression whose cost does not
// depend on the record has a bound that Compile checked, and is evaluated
// without tracking; the others are evaluated under MaxCost and EvalTimeout.
type program struct {
	prg     cel.Program
	limited bool
	est     uint64 // the estimated worst-case cost, on records of SizeHint
}

// eval evaluates a program over the activation.
func (s *Set) eval(p program, act *activation) (ref.Val, error) {
	if !p.limited {
		v, _, err := p.prg.Eval(act)
		return v, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	v, _, err := p.prg.ContextEval(ctx, act)
	cancel()
	if err == nil {
		return v, nil
	}
	var ce interpreter.EvalCancelledError
	switch {
	case errors.As(err, &ce) && ce.Cause == interpreter.CostLimitExceeded:
		return nil, fmt.Errorf("%w: cost over %d units (policy.MaxCost)", ErrLimit, MaxCost)
	case errors.As(err, &ce), errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("%w: took over %v (policy.EvalTimeout)", ErrLimit, s.timeout)
	}
	return v, err
}

// program builds the program of a checked expression: it refuses one whose
// worst-case cost, on records of SizeHint, is over MaxCost, and limits one
// whose cost depends on the record.
func (c *compiled) program(ce *cel.Env, env *Env, key string, offset int, a *cel.Ast) (program, error) {
	hinted := &sizer{env: env, params: c.params, record: SizeHint}
	est, err := ce.EstimateCost(a, hinted)
	if err != nil {
		return program{}, c.errAt(key, offset, 1, fmt.Sprintf("%s: estimating its cost: %v", key, err))
	}
	if est.Max > MaxCost {
		cost := "unbounded"
		if est.Max < math.MaxUint64 {
			cost = fmt.Sprintf("%d", est.Max)
		}
		return program{}, c.errAt(key, offset, 1, fmt.Sprintf(
			"%s: too costly: estimated worst-case cost %s is over the limit of %d (policy.MaxCost) on a record of %d elements per list, map or string, %d for those inside another (docs/policy.md, Limits)",
			key, cost, MaxCost, SizeHint, NestedSizeHint))
	}
	raw, err := ce.EstimateCost(a, &sizer{env: env, params: c.params})
	if err != nil {
		return program{}, c.errAt(key, offset, 1, fmt.Sprintf("%s: estimating its cost: %v", key, err))
	}
	p := program{limited: raw.Max > MaxCost, est: est.Max}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if p.limited {
		opts = append(opts, cel.CostLimit(MaxCost), cel.InterruptCheckFrequency(interruptEvery))
	}
	if p.prg, err = ce.Program(a, opts...); err != nil {
		return program{}, c.errAt(key, offset, 1, fmt.Sprintf("%s: %v", key, err))
	}
	return p, nil
}

// sizer tells CEL's cost estimator the sizes of what an expression reads:
// params exactly, from the policy; the lists, maps and strings of the record
// as record long, or as unknown when record is 0, to learn whether the cost
// depends on the record at all; and the results of the Env's functions.
type sizer struct {
	env    *Env
	params map[string]any
	record uint64
}

// EstimateSize implements cost.Estimator. A path is the variable, then
// field names and @items, @indices, @keys or @values for the elements,
// indices, keys or values of a list or map.
func (s *sizer) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		if n.Expr() != nil && envRooted(n.Expr()) {
			return &envSize
		}
		return nil
	}
	switch path[0] {
	case "r":
		if s.record == 0 {
			return nil
		}
		for _, step := range path[1:] {
			if strings.HasPrefix(step, "@") {
				return &cost.SizeEstimate{Min: 0, Max: NestedSizeHint}
			}
		}
		return &cost.SizeEstimate{Min: 0, Max: s.record}
	case "params":
		var max uint64
		for _, v := range valuesAt(s.params, path[1:]) {
			max = maxSize(max, v)
		}
		// A missing param fails the evaluation at once: size 0.
		return &cost.SizeEstimate{Min: 0, Max: max}
	}
	return nil
}

// envSize is the size assumed for strings and parent chains of the Env:
// catalog data, not record data, so the same in both estimates.
var envSize = cost.SizeEstimate{Min: 0, Max: SizeHint}

// EstimateCallCost implements cost.Estimator for the functions of the Env.
func (s *sizer) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	switch overloadID {
	case "providers_dyn", "controls_dyn", "registry_controls_dyn", "locations_dyn", "operators_dyn", "unattributed_dyn":
		// A walk of the record, giving up to one string of the record
		// per element: counted as long as the record.
		rec := &cost.SizeEstimate{Min: 0, Max: s.record}
		if s.record == 0 {
			u := cost.UnknownSizeEstimate()
			rec = &u
		}
		est := &cost.CallEstimate{CostEstimate: cost.Estimate{Min: 1, Max: max(1, rec.Max)}}
		if overloadID != "unattributed_dyn" {
			elem := *rec
			est.ResultSize = &cost.SizeEstimate{Min: 0, Max: rec.Max, Elem: &elem}
		}
		return est
	case "group_string":
		var n, code uint64
		for _, g := range s.env.Groups {
			n = max(n, uint64(len(g)))
			for _, c := range g {
				code = max(code, uint64(utf8.RuneCountInString(c)))
			}
		}
		elem := cost.SizeEstimate{Min: 0, Max: code}
		return &cost.CallEstimate{CostEstimate: cost.FixedCostEstimate(1), ResultSize: &cost.SizeEstimate{Min: 0, Max: n, Elem: &elem}}
	case "chain_string":
		elem := envSize
		return &cost.CallEstimate{CostEstimate: cost.Estimate{Min: 1, Max: envSize.Max}, ResultSize: &cost.SizeEstimate{Min: 1, Max: envSize.Max, Elem: &elem}}
	case "listing_string_string":
		key, elem := cost.SizeEstimate{Min: 0, Max: 8}, envSize
		return &cost.CallEstimate{CostEstimate: cost.Estimate{Min: 1, Max: envSize.Max}, ResultSize: &cost.SizeEstimate{Min: 0, Max: 7, Key: &key, Elem: &elem}}
	}
	return nil
}

// envRooted reports whether an expression selects from the result of a
// function that returns data of the Env: listing(…).name, chain(…)[0].
func envRooted(e ast.Expr) bool {
	for {
		switch e.Kind() {
		case ast.SelectKind:
			e = e.AsSelect().Operand()
			continue
		case ast.CallKind:
			call := e.AsCall()
			switch call.FunctionName() {
			case operators.Index, operators.OptIndex, operators.OptSelect:
				if len(call.Args()) > 0 {
					e = call.Args()[0]
					continue
				}
			case "listing", "chain", "group":
				return true
			}
		}
		return false
	}
}

// valuesAt returns the values at a path (as EstimateSize has it) under v.
func valuesAt(v any, path []string) []any {
	cur := []any{v}
	for _, step := range path {
		var next []any
		for _, x := range cur {
			switch x := x.(type) {
			case map[string]any:
				switch step {
				case "@keys":
					for k := range x {
						next = append(next, k)
					}
				case "@values":
					for _, val := range x {
						next = append(next, val)
					}
				default:
					if val, ok := x[step]; ok {
						next = append(next, val)
					}
				}
			case []any:
				switch step {
				case "@items":
					next = append(next, x...)
				case "@indices":
					next = append(next, int64(0))
				}
			}
		}
		cur = next
	}
	return cur
}

// maxSize returns the larger of m and the CEL size of v.
func maxSize(m uint64, v any) uint64 {
	var n int
	switch x := v.(type) {
	case string:
		n = utf8.RuneCountInString(x)
	case []any:
		n = len(x)
	case map[string]any:
		n = len(x)
	default:
		n = 1
	}
	return max(m, uint64(n))
}
