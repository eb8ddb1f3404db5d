package screen

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// An Item is a name to screen, with where it came from.
type Item struct {
	Name    string
	Field   string // the CSV column, or the SBOM field (supplier, manufacturer, publisher, author, name, group)
	Line    int    // 1-based line of a CSV record; 0 for an SBOM
	Path    string // for an SBOM, the JSON path: components[3].supplier.name
	Context string // for an SBOM, the component the name belongs to (name@version)

	// Truncated says that the name was longer than MaxNameLen bytes and
	// was cut (see TruncateName): only its beginning is screened.
	Truncated bool
}

// newItem returns the item of a name, trimmed and cut to MaxNameLen bytes,
// or false for an empty name.
func newItem(name string) (Item, bool) {
	name, cut := TruncateName(strings.TrimSpace(name))
	name = strings.TrimSpace(name)
	return Item{Name: name, Truncated: cut}, name != ""
}

// Inventory formats.
const (
	FormatCSV       = "csv"
	FormatCycloneDX = "cyclonedx"
)

// maxInventory bounds the size of an inventory read into memory.
const maxInventory = 256 << 20

// Read reads an inventory, telling a CycloneDX JSON SBOM (a JSON object)
// from a CSV file by content. Column chooses the CSV column (see [ReadCSV]).
func Read(r io.Reader, column string) ([]Item, string, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		items, err := ReadCycloneDX(br)
		return items, FormatCycloneDX, err
	}
	items, err := ReadCSV(br, column)
	return items, FormatCSV, err
}

// nameHeaders are the header names (lower case, letters only) that name a
// column of company names, in order of preference.
var nameHeaders = []string{
	"vendor", "vendorname", "supplier", "suppliername", "manufacturer", "manufacturername",
	"company", "companyname", "organization", "organisation", "organizationname", "brand",
	"publisher", "maker", "legalname", "entity", "entityname", "party", "name",
}

func headerKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// nameColumns returns the columns of a header row that hold company names:
// exact header names first; headers containing vendor, supplier or
// manufacturer also count.
func nameColumns(header []string) []int {
	keys := make([]string, len(header))
	for i, h := range header {
		keys[i] = headerKey(h)
	}
	var cols []int
	seen := map[int]bool{}
	for _, want := range nameHeaders {
		for i, k := range keys {
			if k == want && !seen[i] {
				cols = append(cols, i)
				seen[i] = true
			}
		}
	}
	for i, k := range keys {
		if seen[i] {
			continue
		}
		for _, part := range []string{"vendor", "supplier", "manufacturer"} {
			if strings.Contains(k, part) && !strings.Contains(k, "id") && !strings.Contains(k, "number") && !strings.Contains(k, "code") {
				cols = append(cols, i)
				seen[i] = true
				break
			}
		}
	}
	return cols
}

// ReadCSV reads names from a CSV file (comma, semicolon or tab separated,
// told from the first line). Column is a header name (case-insensitive) or a
// 1-based column number; when empty, the columns are found from a header row
// naming vendor, supplier, manufacturer, company, name and the like (all of
// them are screened), or the only column of a one-column file is used.
func ReadCSV(r io.Reader, column string) ([]Item, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInventory+1))
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	if len(b) > maxInventory {
		return nil, fmt.Errorf("csv: larger than %d bytes", maxInventory)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	cr := csv.NewReader(bytes.NewReader(b))
	cr.Comma = sniffComma(b)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false
	var records [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		records = append(records, rec)
		lines = append(lines, line)
	}
	if len(records) == 0 {
		return nil, nil
	}
	header := records[0]
	var cols []int
	start := 0
	hasHeader := true // field names come from the first record
	switch {
	case column != "":
		if n, err := strconv.Atoi(column); err == nil {
			if n < 1 {
				return nil, fmt.Errorf("csv: column %d: columns count from 1", n)
			}
			// The number is the user's: compare it with the records, never
			// allocate by it.
			widest, wideLine := 0, 0
			for i, rec := range records {
				if len(rec) > widest {
					widest, wideLine = len(rec), lines[i]
				}
			}
			if n > widest {
				return nil, fmt.Errorf("csv: column %d: no line has that many columns (the widest, line %d, has %d)", n, wideLine, widest)
			}
			cols = []int{n - 1}
			if len(nameColumns(header)) > 0 {
				start = 1
			} else {
				hasHeader = false
			}
		} else {
			for i, h := range header {
				if strings.EqualFold(strings.TrimSpace(h), column) {
					cols = append(cols, i)
				}
			}
			if len(cols) == 0 {
				return nil, fmt.Errorf("csv: no column %s in the header (%s)", quote(column), quoteFields(header))
			}
			start = 1
		}
	default:
		cols = nameColumns(header)
		start = 1
		if len(cols) == 0 {
			if len(header) != 1 {
				return nil, fmt.Errorf("csv: cannot tell which column holds the names (header: %s); choose one with --column", quoteFields(header))
			}
			cols, start = []int{0}, 0
			hasHeader = false
		}
	}
	field := func(c int) string {
		if !hasHeader {
			return "column " + strconv.Itoa(c+1)
		}
		if c < len(header) {
			return strings.TrimSpace(header[c])
		}
		return ""
	}
	var items []Item
	for i := start; i < len(records); i++ {
		rec := records[i]
		for _, c := range cols {
			if c >= len(rec) {
				continue
			}
			it, ok := newItem(rec[c])
			if !ok {
				continue
			}
			it.Field, it.Line = field(c), lines[i]
			items = append(items, it)
		}
	}
	return items, nil
}

// maxQuoted is the most bytes of an input string an error message quotes.
const maxQuoted = 64

// quote quotes at most maxQuoted bytes of s for an error message, escaping
// control characters, so that a hostile file cannot write terminal escapes
// through an error.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// quoteFields quotes the first fields of a CSV record for an error message.
func quoteFields(rec []string) string {
	const most = 8
	var b strings.Builder
	for i, f := range rec {
		if i == most {
			fmt.Fprintf(&b, ", and %d more", len(rec)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(f))
	}
	return b.String()
}

// sniffComma returns the separator that occurs most in the first line,
// outside quotes: comma, semicolon or tab.
func sniffComma(b []byte) rune {
	counts := map[byte]int{}
	inQuote := false
	for _, c := range b {
		if c == '\n' && !inQuote {
			break
		}
		switch c {
		case '"':
			inQuote = !inQuote
		case ',', ';', '\t':
			if !inQuote {
				counts[c]++
			}
		}
	}
	best, n := byte(','), counts[',']
	for _, c := range []byte{';', '\t'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return rune(best)
}

// CycloneDX JSON, only the fields that name organisations.
type (
	cdxBOM struct {
		BOMFormat   string         `json:"bomFormat"`
		SpecVersion string         `json:"specVersion"`
		Metadata    *cdxMetadata   `json:"metadata"`
		Components  []cdxComponent `json:"components"`
	}
	cdxMetadata struct {
		Supplier     *cdxOrg       `json:"supplier"`
		Manufacturer *cdxOrg       `json:"manufacturer"`
		Manufacture  *cdxOrg       `json:"manufacture"` // CycloneDX 1.2-1.5, deprecated in 1.6
		Component    *cdxComponent `json:"component"`
	}
	cdxOrg struct {
		Name string `json:"name"`
	}
	cdxComponent struct {
		Type         string         `json:"type"`
		Name         string         `json:"name"`
		Group        string         `json:"group"`
		Version      string         `json:"version"`
		Publisher    string         `json:"publisher"`
		Author       string         `json:"author"`
		Authors      []cdxOrg       `json:"authors"`
		Supplier     *cdxOrg        `json:"supplier"`
		Manufacturer *cdxOrg        `json:"manufacturer"`
		Components   []cdxComponent `json:"components"`
	}
)

// ReadCycloneDX reads the organisation names of a CycloneDX JSON SBOM:
// metadata.supplier, metadata.manufacturer (and the older manufacture), the
// described component, and for every component (nested ones too) its
// supplier, manufacturer, publisher, author(s), group and name.
func ReadCycloneDX(r io.Reader) ([]Item, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxInventory))
	var bom cdxBOM
	if err := dec.Decode(&bom); err != nil {
		return nil, fmt.Errorf("cyclonedx: %w", err)
	}
	if !strings.EqualFold(bom.BOMFormat, "CycloneDX") {
		return nil, fmt.Errorf("cyclonedx: bomFormat is %s, want \"CycloneDX\" (only CycloneDX JSON SBOMs and CSV files are read)", quote(bom.BOMFormat))
	}
	var items []Item
	add := func(name, field, path, ctx string) {
		it, ok := newItem(name)
		if !ok {
			return
		}
		it.Field, it.Path = field, path
		it.Context, _ = TruncateName(ctx)
		items = append(items, it)
	}
	var component func(c *cdxComponent, path string, depth int)
	component = func(c *cdxComponent, path string, depth int) {
		if depth > 64 {
			return
		}
		ctx := c.Name
		if c.Group != "" {
			ctx = c.Group + "/" + ctx
		}
		if c.Version != "" {
			ctx += "@" + c.Version
		}
		if c.Supplier != nil {
			add(c.Supplier.Name, "supplier", path+".supplier.name", ctx)
		}
		if c.Manufacturer != nil {
			add(c.Manufacturer.Name, "manufacturer", path+".manufacturer.name", ctx)
		}
		add(c.Publisher, "publisher", path+".publisher", ctx)
		add(c.Author, "author", path+".author", ctx)
		for i, a := range c.Authors {
			add(a.Name, "author", fmt.Sprintf("%s.authors[%d].name", path, i), ctx)
		}
		add(c.Group, "group", path+".group", ctx)
		add(c.Name, "name", path+".name", ctx)
		for i := range c.Components {
			component(&c.Components[i], fmt.Sprintf("%s.components[%d]", path, i), depth+1)
		}
	}
	if md := bom.Metadata; md != nil {
		if md.Supplier != nil {
			add(md.Supplier.Name, "supplier", "metadata.supplier.name", "")
		}
		if md.Manufacturer != nil {
			add(md.Manufacturer.Name, "manufacturer", "metadata.manufacturer.name", "")
		}
		if md.Manufacture != nil {
			add(md.Manufacture.Name, "manufacturer", "metadata.manufacture.name", "")
		}
		if md.Component != nil {
			component(md.Component, "metadata.component", 0)
		}
	}
	for i := range bom.Components {
		component(&bom.Components[i], fmt.Sprintf("components[%d]", i), 0)
	}
	return items, nil
}

// A Result is the screening of one item.
type Result struct {
	Item    Item
	Matches []Match // hits first
}

// Status returns StatusHit if any match is a hit, StatusNearMiss if any is a
// near miss, and "clear" otherwise.
func (r *Result) Status() string {
	st := "clear"
	for _, m := range r.Matches {
		if m.Status == StatusHit {
			return StatusHit
		}
		st = StatusNearMiss
	}
	return st
}

// Screen matches every item, reusing the matches of names seen before.
func (m *Matcher) Screen(items []Item) []Result {
	cache := map[string][]Match{}
	out := make([]Result, len(items))
	for i, it := range items {
		ms, ok := cache[it.Name]
		if !ok {
			ms = m.Match(it.Name)
			cache[it.Name] = ms
		}
		out[i] = Result{Item: it, Matches: ms}
	}
	return out
}
