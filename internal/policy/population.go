package policy

import "sort"

// A Population summarises a set of records for the rules of kind
// "population": how many records each provider and each control country
// serves, and their shares. Add records one by one, then take the summary
// with [Population.Record]. A Population is not safe for concurrent use.
//
// Each record weighs 1, except a flow group, which weighs its bytes. A
// record that embeds several attribution records (a scan layer) counts once
// for each distinct provider and control country it holds, so shares may sum
// to more than 1.
type Population struct {
	name       string
	total      float64
	attributed float64
	providers  map[string]*popEntry
	controls   map[string]*popEntry
}

type popEntry struct {
	id, name string
	weight   float64
}

// NewPopulation returns an empty population with a name (a file name, a
// list of domains) that findings will show.
func NewPopulation(name string) *Population {
	return &Population{name: name, providers: map[string]*popEntry{}, controls: map[string]*popEntry{}}
}

// A Tally is what one record adds to a population: its weight, providers
// and control countries. A caller that sees the same record shape many times
// (the addresses of one route) may compute the tally once with [TallyOf] and
// add it with [Population.AddTally].
type Tally struct {
	weight    float64
	providers []string
	names     []string
	controls  []string
}

// TallyOf returns the tally of a record of the kind.
func TallyOf(kind string, rec map[string]any) Tally {
	t := Tally{weight: 1}
	if kind == KindFlowGroup {
		switch b := rec["bytes"].(type) {
		case int64:
			t.weight = float64(b)
		case float64:
			t.weight = b
		}
	}
	t.providers = collect(rec, "provider", "id")
	if len(t.providers) > 0 {
		names := providerNames(rec)
		for _, id := range t.providers {
			n := names[id]
			if n == "" {
				n = id
			}
			t.names = append(t.names, n)
		}
	}
	t.controls = collect(rec, "control", "country")
	return t
}

// Add counts a record of the kind.
func (p *Population) Add(kind string, rec map[string]any) { p.AddTally(TallyOf(kind, rec)) }

// AddTally counts a record by its tally.
func (p *Population) AddTally(t Tally) {
	p.total += t.weight
	if len(t.providers) > 0 {
		p.attributed += t.weight
	}
	for i, id := range t.providers {
		e := p.providers[id]
		if e == nil {
			e = &popEntry{id: id, name: t.names[i]}
			p.providers[id] = e
		}
		e.weight += t.weight
	}
	for _, c := range t.controls {
		e := p.controls[c]
		if e == nil {
			e = &popEntry{id: c}
			p.controls[c] = e
		}
		e.weight += t.weight
	}
}

// providerNames returns the names given with provider IDs anywhere in a
// record.
func providerNames(v any) map[string]string {
	out := map[string]string{}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 32 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if pr, ok := x["provider"].(map[string]any); ok {
				id, _ := pr["id"].(string)
				name, _ := pr["name"].(string)
				if id != "" && name != "" && out[id] == "" {
					out[id] = name
				}
			}
			for _, val := range x {
				walk(val, depth+1)
			}
		case []any:
			for _, val := range x {
				walk(val, depth+1)
			}
		}
	}
	walk(v, 0)
	return out
}

// Total returns the weight of the records added.
func (p *Population) Total() float64 { return p.total }

// Record returns the summary as a record of kind population:
//
//	{"kind":"population","population":NAME,"total":N,"attributed":N,
//	 "providers":[{"id","name","count","share"}…],   // largest first
//	 "controls":[{"country","count","share"}…]}
//
// Shares are fractions of total.
func (p *Population) Record() map[string]any {
	share := func(w float64) float64 {
		if p.total == 0 {
			return 0
		}
		return w / p.total
	}
	list := func(m map[string]*popEntry, key string, withName bool) []any {
		es := make([]*popEntry, 0, len(m))
		for _, e := range m {
			es = append(es, e)
		}
		sort.Slice(es, func(i, j int) bool {
			if es[i].weight != es[j].weight {
				return es[i].weight > es[j].weight
			}
			return es[i].id < es[j].id
		})
		out := make([]any, len(es))
		for i, e := range es {
			o := map[string]any{key: e.id, "count": e.weight, "share": share(e.weight)}
			if withName {
				o["name"] = e.name
			}
			out[i] = o
		}
		return out
	}
	return map[string]any{
		"kind":       KindPopulation,
		"population": p.name,
		"total":      p.total,
		"attributed": p.attributed,
		"providers":  list(p.providers, "id", true),
		"controls":   list(p.controls, "country", false),
	}
}
