package screen

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sovmap/sovmap/internal/iso"
)

// A Source is a document that supports an entry, a name or a relation.
type Source struct {
	ID    string `yaml:"id"`
	URL   string `yaml:"url"`
	Date  string `yaml:"date"` // YYYY-MM-DD: published, or read for a live page
	Title string `yaml:"title"`
}

// A ListInfo describes a restricted-entity list.
type ListInfo struct {
	ID        string `yaml:"id"`
	Name      string `yaml:"name"`
	Authority string `yaml:"authority"`
	URL       string `yaml:"url"`
	Note      string `yaml:"note"`
}

// A Listing is an entity's entry on a list.
type Listing struct {
	List   string `yaml:"list"`   // list ID
	Name   string `yaml:"name"`   // the entry's name when it differs from the entity's
	Since  string `yaml:"since"`  // YYYY-MM-DD: when the entry was added
	Scope  string `yaml:"scope"`  // what the entry covers, in the list's words
	Source string `yaml:"source"` // source ID
}

// Name kinds of an entity's own names.
const (
	KindLegal      = "legal"       // a registered name
	KindAlias      = "alias"       // another name of the same company
	KindFormerName = "former-name" // a name the company used to have
	KindBrand      = "brand"       // a trade name of the company itself
	KindAcronym    = "acronym"     // letters (ZTE, DJI): matched as a whole word only
)

// A Name is one of an entity's own names.
type Name struct {
	Name   string `yaml:"name"`
	Kind   string `yaml:"kind"`
	Lang   string `yaml:"lang"` // BCP 47 tag when not English: zh-Hans, zh-Hant, ru
	Weak   bool   `yaml:"weak"` // a common word: inside a longer name only a near miss
	Source string `yaml:"source"`
}

// Relations of a related company to a listed entity.
const (
	RelSubsidiary = "subsidiary" // controlled by the entity
	RelBrand      = "brand"      // a trade name of the entity's products
	RelAffiliate  = "affiliate"  // a parent or sister company (under common control)
	RelFormer     = "former"     // no longer related (sold): shown as a near miss
)

// Related is a company or brand tied to a listed entity.
type Related struct {
	Name        string   `yaml:"name"`
	Aliases     []string `yaml:"aliases"`
	WeakAliases []string `yaml:"weak_aliases"` // common words: inside a longer name only a near miss
	Relation    string   `yaml:"relation"`
	Until       string   `yaml:"until"` // for former: when the tie ended
	Note        string   `yaml:"note"`
	Source      string   `yaml:"source"`
}

// CatalogLinks ties an entity to company IDs of sovmap's catalog.
type CatalogLinks struct {
	Entity []string `yaml:"entity"` // the listed company itself
	Group  []string `yaml:"group"`  // its group holding: the companies below are affiliates
}

// An Entity is a company named on one or more lists.
type Entity struct {
	ID       string       `yaml:"id"`
	Name     string       `yaml:"name"` // as the (first) list names it
	Country  string       `yaml:"country"`
	Note     string       `yaml:"note"`
	Listings []Listing    `yaml:"listings"`
	Names    []Name       `yaml:"names"`
	Related  []Related    `yaml:"related"`
	Catalog  CatalogLinks `yaml:"catalog"`
}

// Data is the content of one list file.
type Data struct {
	Lists    []ListInfo `yaml:"lists"`
	Sources  []Source   `yaml:"sources"`
	Entities []Entity   `yaml:"entities"`
}

// Lists is the checked union of list files. It is immutable.
type Lists struct {
	lists    map[string]*ListInfo
	listIDs  []string
	sources  map[string]*Source
	entities []*Entity
	byID     map[string]*Entity
}

//go:embed data/*.yaml
var dataFiles embed.FS

// Parse decodes one list file; unknown fields are errors. Name is used in
// errors.
func Parse(name string, r io.Reader) (Data, error) {
	var d Data
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return d, nil
		}
		return d, fmt.Errorf("screen: list %s: %w", name, err)
	}
	return d, nil
}

// Embedded returns the lists embedded in sovmap (internal/screen/data).
func Embedded() (*Lists, error) {
	all, err := embeddedData()
	if err != nil {
		return nil, err
	}
	return New(all...)
}

// embeddedData returns the list files embedded in sovmap, parsed.
func embeddedData() ([]Data, error) {
	var all []Data
	err := fs.WalkDir(dataFiles, "data", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := dataFiles.ReadFile(path)
		if err != nil {
			return err
		}
		data, err := Parse(path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		all = append(all, data)
		return nil
	})
	return all, err
}

// New merges list files and checks them: every listing, name and related
// company cites a known source; sources have an http(s) URL and a date;
// listings name a known list and a date; IDs are unique. All problems are
// returned together.
func New(data ...Data) (*Lists, error) {
	l := &Lists{lists: map[string]*ListInfo{}, sources: map[string]*Source{}, byID: map[string]*Entity{}}
	ck := &listChecker{l: l}
	for _, d := range data {
		ck.addLists(d.Lists)
		ck.addSources(d.Sources)
	}
	ck.checkLists()
	ck.checkSources()
	for _, d := range data {
		for i := range d.Entities {
			ck.addEntity(d.Entities[i])
		}
	}
	if len(ck.errs) > 0 {
		sort.Slice(ck.errs, func(i, j int) bool { return ck.errs[i].Error() < ck.errs[j].Error() })
		return nil, fmt.Errorf("screen: %w", errors.Join(ck.errs...))
	}
	sort.Slice(l.entities, func(i, j int) bool { return l.entities[i].ID < l.entities[j].ID })
	return l, nil
}

// The kinds of names and the relations an entry may give.
var (
	nameKinds = []string{KindLegal, KindAlias, KindFormerName, KindBrand, KindAcronym}
	relations = []string{RelSubsidiary, RelBrand, RelAffiliate, RelFormer}
)

// A listChecker merges list files into Lists and gathers their problems.
type listChecker struct {
	l    *Lists
	errs []error
}

func (ck *listChecker) bad(format string, args ...any) {
	ck.errs = append(ck.errs, fmt.Errorf(format, args...))
}

func (ck *listChecker) addLists(lists []ListInfo) {
	for i := range lists {
		li := lists[i]
		if _, dup := ck.l.lists[li.ID]; dup {
			ck.bad("list %s: defined twice", li.ID)
		}
		ck.l.lists[li.ID] = &li
	}
}

func (ck *listChecker) addSources(sources []Source) {
	for i := range sources {
		s := sources[i]
		if _, dup := ck.l.sources[s.ID]; dup {
			ck.bad("source %s: defined twice", s.ID)
		}
		ck.l.sources[s.ID] = &s
	}
}

// checkLists checks the lists and gathers their IDs, sorted.
func (ck *listChecker) checkLists() {
	for id, li := range ck.l.lists {
		if li.Name == "" || !isURL(li.URL) {
			ck.bad("list %s: name and an http(s) url are required", id)
		}
		ck.l.listIDs = append(ck.l.listIDs, id)
	}
	sort.Strings(ck.l.listIDs)
}

func (ck *listChecker) checkSources() {
	for id, s := range ck.l.sources {
		if id == "" {
			ck.bad("source with no id")
		}
		if !isURL(s.URL) {
			ck.bad("source %s: url %q is not an http(s) URL", id, s.URL)
		}
		if !iso.IsDate(s.Date) {
			ck.bad("source %s: date %q is not YYYY-MM-DD", id, s.Date)
		}
		if s.Title == "" {
			ck.bad("source %s: no title", id)
		}
	}
}

// source checks that what cites a known source.
func (ck *listChecker) source(what, id string) {
	if id == "" {
		ck.bad("%s: no source", what)
	} else if _, ok := ck.l.sources[id]; !ok {
		ck.bad("%s: unknown source %q", what, id)
	}
}

// addEntity checks an entity, its listings, names and related companies,
// and adds it.
func (ck *listChecker) addEntity(e Entity) {
	what := "entity " + e.ID
	if e.ID == "" || e.Name == "" {
		ck.bad("%s: id and name are required", what)
	}
	if _, dup := ck.l.byID[e.ID]; dup {
		ck.bad("%s: defined twice", what)
	}
	if len(e.Listings) == 0 {
		ck.bad("%s: no listing", what)
	}
	for _, ls := range e.Listings {
		ck.listing(what, ls)
	}
	for _, n := range e.Names {
		ck.name(what, n)
	}
	for _, r := range e.Related {
		ck.related(what, r)
	}
	ck.l.entities = append(ck.l.entities, &e)
	ck.l.byID[e.ID] = &e
}

func (ck *listChecker) listing(what string, ls Listing) {
	w := fmt.Sprintf("%s listing %s", what, ls.List)
	if _, ok := ck.l.lists[ls.List]; !ok {
		ck.bad("%s: unknown list", w)
	}
	if !iso.IsDate(ls.Since) {
		ck.bad("%s: since %q is not YYYY-MM-DD", w, ls.Since)
	}
	if ls.Scope == "" {
		ck.bad("%s: no scope", w)
	}
	ck.source(w, ls.Source)
}

func (ck *listChecker) name(what string, n Name) {
	w := fmt.Sprintf("%s name %q", what, n.Name)
	if !slices.Contains(nameKinds, n.Kind) {
		ck.bad("%s: kind %q: want one of %s", w, n.Kind, strings.Join(nameKinds, ", "))
	}
	if Normalize(n.Name) == "" {
		ck.bad("%s: nothing left after normalisation", w)
	}
	ck.source(w, n.Source)
}

func (ck *listChecker) related(what string, r Related) {
	w := fmt.Sprintf("%s related %q", what, r.Name)
	if !slices.Contains(relations, r.Relation) {
		ck.bad("%s: relation %q: want one of %s", w, r.Relation, strings.Join(relations, ", "))
	}
	if r.Relation == RelFormer && !iso.IsDate(r.Until) {
		ck.bad("%s: a former relation needs until (YYYY-MM-DD)", w)
	}
	for _, a := range slices.Concat([]string{r.Name}, r.Aliases, r.WeakAliases) {
		if Normalize(a) == "" {
			ck.bad("%s: name %q: nothing left after normalisation", w, a)
		}
	}
	ck.source(w, r.Source)
}

// Entities returns the entities, sorted by ID.
func (l *Lists) Entities() []*Entity { return l.entities }

// List returns a list by ID.
func (l *Lists) List(id string) (*ListInfo, bool) { li, ok := l.lists[id]; return li, ok }

// ListIDs returns the IDs of the lists, sorted.
func (l *Lists) ListIDs() []string { return l.listIDs }

// SourceURL returns the URL of a source, or "" if it is unknown.
func (l *Lists) SourceURL(id string) string {
	if s, ok := l.sources[id]; ok {
		return s.URL
	}
	return ""
}

func isURL(s string) bool { return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") }
