package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/sovmap/sovmap/internal/attribution"
	"github.com/sovmap/sovmap/internal/catalog"
	"github.com/sovmap/sovmap/internal/render"
)

func catalogCommand() *command {
	return &command{
		name:    "catalog",
		summary: "browse the providers, companies and jurisdiction groups (catalog list, catalog show)",
		help: `Usage:
  sovmap catalog list [--kind KIND] [--control CC] [--companies | --groups | --traps] [--json]
  sovmap catalog show ID [--json]

The catalog is the curated knowledge behind every verdict: companies with
their parent chains and headquarters, providers with their operators, ASNs,
hostname suffixes and regions, jurisdiction groups, and name traps. Every
claim cites a source (URL and date), shown by 'catalog show'.

catalog list prints providers (or companies, groups, traps) one per line.
catalog show prints one provider, company or group with the sources of each
claim; for a company it shows its parent chain and the providers it runs.

Flags:
  --kind KIND      only providers of this kind (cloud, cdn, dns, mail, hosting,
                   network, security, saas)
  --control CC     only providers whose ultimate parent is headquartered in CC
  --companies      list companies instead of providers
  --groups         list jurisdiction groups
  --traps          list name traps (ASNs whose names mimic a provider)
  --catalog FILE   extend or override the catalog (repeatable)
  --json           print JSON

Examples:
  sovmap catalog list --control CN
  sovmap catalog list --kind dns
  sovmap catalog show alibaba-cloud
  sovmap catalog show alibaba-group
  sovmap catalog show foreign-adversary-us
`,
		run: runCatalog,
	}
}

func runCatalog(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: list or show")
	}
	switch args[0] {
	case "list":
		return runCatalogList(e, args[1:])
	case "show":
		return runCatalogShow(e, args[1:])
	case "-h", "-help", "--help":
		return flagErrHelp
	}
	return usagef("unknown subcommand %q (want list or show)", args[0])
}

// providerControl returns the control country of a provider's operator.
func providerControl(c *attribution.Catalog, p *attribution.Provider) (string, []*attribution.Company) {
	chain := c.Chain(p.Operator)
	if len(chain) == 0 {
		return "", nil
	}
	return chain[len(chain)-1].Headquarters, chain
}

func runCatalogList(e *env, args []string) error {
	fs := newFlags("catalog list")
	kind := fs.String("kind", "", "")
	control := fs.String("control", "", "")
	companies := fs.Bool("companies", false, "")
	groups := fs.Bool("groups", false, "")
	traps := fs.Bool("traps", false, "")
	asJSON := fs.Bool("json", false, "")
	var files stringList
	fs.Var(&files, "catalog", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("catalog list takes no arguments")
	}
	if *kind != "" && !slices.Contains(attribution.ProviderKinds, *kind) {
		return usagef("unknown kind %q (want one of %s)", *kind, strings.Join(attribution.ProviderKinds, ", "))
	}
	c, err := catalog.Load(files...)
	if err != nil {
		return err
	}
	cc := strings.ToUpper(*control)
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	switch {
	case *companies:
		var out []*attribution.Company
		for _, id := range c.CompanyIDs() {
			co, _ := c.Company(id)
			chain := c.Chain(id)
			if cc != "" && chain[len(chain)-1].Headquarters != cc {
				continue
			}
			out = append(out, co)
		}
		if *asJSON {
			return writeJSON(e, out)
		}
		fmt.Fprintf(w, "ID\tNAME\tHQ\tCONTROL\tPARENT\n")
		for _, co := range out {
			chain := c.Chain(co.ID)
			render.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", co.ID, co.Name, co.Headquarters, chain[len(chain)-1].Headquarters, dash(co.Parent))
		}
	case *groups:
		var out []*attribution.Group
		for _, id := range c.GroupIDs() {
			g, _ := c.Group(id)
			out = append(out, g)
		}
		if *asJSON {
			return writeJSON(e, out)
		}
		fmt.Fprintf(w, "ID\tNAME\tCOUNTRIES\n")
		for _, g := range out {
			render.Fprintf(w, "%s\t%s\t%s\n", g.ID, g.Name, strings.Join(g.Countries, " "))
		}
	case *traps:
		ts := c.Traps()
		if *asJSON {
			return writeJSON(e, ts)
		}
		fmt.Fprintf(w, "ASN\tNAME\tWHY IT IS A TRAP\n")
		for _, t := range ts {
			render.Fprintf(w, "AS%d\t%s\t%s\n", t.ASN, t.Name, t.Note)
		}
	default:
		type row struct {
			ID       string   `json:"id"`
			Name     string   `json:"name"`
			Kinds    []string `json:"kinds"`
			Operator string   `json:"operator"`
			Control  string   `json:"control"`
			ASNs     int      `json:"asns"`
			Suffixes int      `json:"suffixes"`
			Regions  int      `json:"regions"`
		}
		var out []row
		for _, id := range c.ProviderIDs() {
			p, _ := c.Provider(id)
			ctl, _ := providerControl(c, p)
			if cc != "" && ctl != cc {
				continue
			}
			if *kind != "" && !slices.Contains(p.Kinds, *kind) {
				continue
			}
			n := 0
			for _, s := range p.Suffixes {
				n += len(s.Suffixes)
			}
			out = append(out, row{p.ID, p.Name, p.Kinds, p.Operator, ctl, len(p.ASNs), n, len(p.Regions)})
		}
		if *asJSON {
			return writeJSON(e, out)
		}
		fmt.Fprintf(w, "ID\tNAME\tKINDS\tCONTROL\tASNS\tSUFFIXES\tREGIONS\n")
		for _, r := range out {
			render.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n", r.ID, r.Name, strings.Join(r.Kinds, ","), dash(r.Control), r.ASNs, r.Suffixes, r.Regions)
		}
	}
	return nil
}

func runCatalogShow(e *env, args []string) error {
	fs := newFlags("catalog show")
	asJSON := fs.Bool("json", false, "")
	var files stringList
	fs.Var(&files, "catalog", "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("catalog show takes one ID")
	}
	c, err := catalog.Load(files...)
	if err != nil {
		return err
	}
	id := pos[0]
	if p, ok := c.Provider(id); ok {
		if *asJSON {
			return writeJSON(e, providerJSON(c, p))
		}
		showProvider(e.stdout, c, p)
		return nil
	}
	if co, ok := c.Company(id); ok {
		runs := companyProviders(c, id)
		if *asJSON {
			return writeJSON(e, struct {
				*attribution.Company
				Chain     []*attribution.Company `json:"chain"`
				Providers []string               `json:"providers"`
				Cited     []*attribution.Source  `json:"cited"`
			}{co, c.Chain(id), runs, citedSources(c, co.Sources)})
		}
		showCompany(e.stdout, c, co, runs)
		return nil
	}
	if g, ok := c.Group(id); ok {
		if *asJSON {
			return writeJSON(e, g)
		}
		showGroup(e.stdout, c, g)
		return nil
	}
	return usagef("no provider, company or group has the ID %q (see 'sovmap catalog list')", id)
}

// citation lists the sources of a claim: "URL (date); URL (date)".
func citation(c *attribution.Catalog, ids ...string) string {
	var parts []string
	for _, id := range ids {
		if s, ok := c.Source(id); ok {
			parts = append(parts, fmt.Sprintf("%s (%s)", s.URL, s.Date))
		}
	}
	return strings.Join(parts, "; ")
}

// citedSources returns the sources of ids, each once, in order.
func citedSources(c *attribution.Catalog, ids []string) []*attribution.Source {
	var out []*attribution.Source
	seen := map[string]bool{}
	for _, id := range ids {
		if s, ok := c.Source(id); ok && !seen[id] {
			seen[id] = true
			out = append(out, s)
		}
	}
	return out
}

// providerJSON is the JSON form of catalog show for a provider: the
// provider, its control, parent chain and the sources its claims cite.
func providerJSON(c *attribution.Catalog, p *attribution.Provider) any {
	ctl, chain := providerControl(c, p)
	ids := slices.Clone(p.Sources)
	for _, a := range p.ASNs {
		ids = append(ids, a.Source)
	}
	for _, s := range p.Suffixes {
		ids = append(ids, s.Source)
	}
	for _, r := range p.Regions {
		ids = append(ids, r.Source)
	}
	return struct {
		*attribution.Provider
		Control string                 `json:"control"`
		Chain   []*attribution.Company `json:"chain"`
		Cited   []*attribution.Source  `json:"cited"`
	}{p, ctl, chain, citedSources(c, ids)}
}

// showProvider writes a provider with the sources of each claim. Every
// string from the catalog is printed by render's terminal rule.
func showProvider(w io.Writer, c *attribution.Catalog, p *attribution.Provider) {
	ctl, chain := providerControl(c, p)
	render.Fprintf(w, "provider  %s (%s)\n", p.Name, p.ID)
	render.Fprintf(w, "kinds     %s\n", strings.Join(p.Kinds, ", "))
	if p.Note != "" {
		render.Fprintf(w, "note      %s\n", p.Note)
	}
	render.Fprintf(w, "sources   %s\n", citation(c, p.Sources...))
	fmt.Fprintf(w, "\ncontrol chain (operator first):\n")
	for _, co := range chain {
		render.Fprintf(w, "  %s (%s), headquarters %s  [%s]\n", co.Name, co.ID, co.Headquarters, citation(c, co.Sources...))
	}
	if ctl != "" {
		render.Fprintf(w, "  => control %s: %s\n", ctl, attribution.ControlBasis(chain))
	}
	if len(p.ASNs) > 0 {
		fmt.Fprintf(w, "\nASNs:\n")
		for _, a := range p.ASNs {
			op := ""
			if a.Operator != "" {
				op = " operated by " + a.Operator
			}
			render.Fprintf(w, "  AS%-8d %s%s  [%s]\n", a.ASN, a.Name, op, citation(c, a.Source))
		}
	}
	if len(p.Suffixes) > 0 {
		fmt.Fprintf(w, "\nhostname suffixes:\n")
		for _, s := range p.Suffixes {
			render.Fprintf(w, "  %-5s %s  [%s]\n", s.Layer, strings.Join(s.Suffixes, " "), citation(c, s.Source))
		}
	}
	if len(p.Regions) > 0 {
		fmt.Fprintf(w, "\nregions:\n")
		for _, r := range p.Regions {
			render.Fprintf(w, "  %-22s %s %s  [%s]\n", r.ID, r.Country, r.City, citation(c, r.Source))
		}
	}
}

// companyProviders returns the IDs of the providers a company operates, or
// whose ASNs it operates.
func companyProviders(c *attribution.Catalog, id string) []string {
	var runs []string
	for _, pid := range c.ProviderIDs() {
		p, _ := c.Provider(pid)
		if p.Operator == id || slices.ContainsFunc(p.ASNs, func(a attribution.ASNClaim) bool { return a.Operator == id }) {
			runs = append(runs, pid)
		}
	}
	return runs
}

// showCompany writes a company, its parent chain and the providers it runs.
func showCompany(w io.Writer, c *attribution.Catalog, co *attribution.Company, runs []string) {
	chain := c.Chain(co.ID)
	render.Fprintf(w, "company       %s (%s)\n", co.Name, co.ID)
	if len(co.Aliases) > 0 {
		render.Fprintf(w, "aliases       %s\n", strings.Join(co.Aliases, "; "))
	}
	render.Fprintf(w, "headquarters  %s %s\n", co.Headquarters, co.City)
	if co.Incorporated != "" {
		render.Fprintf(w, "incorporated  %s\n", co.Incorporated)
	}
	if co.Note != "" {
		render.Fprintf(w, "note          %s\n", co.Note)
	}
	render.Fprintf(w, "sources       %s\n", citation(c, co.Sources...))
	fmt.Fprintf(w, "\nparent chain:\n")
	for _, x := range chain {
		render.Fprintf(w, "  %s (%s), headquarters %s\n", x.Name, x.ID, x.Headquarters)
	}
	render.Fprintf(w, "  => control %s: %s\n", chain[len(chain)-1].Headquarters, attribution.ControlBasis(chain))
	if len(runs) > 0 {
		render.Fprintf(w, "\nproviders: %s\n", strings.Join(runs, ", "))
	}
}

// showGroup writes a jurisdiction group.
func showGroup(w io.Writer, c *attribution.Catalog, g *attribution.Group) {
	render.Fprintf(w, "group      %s (%s)\ncountries  %s\n", g.Name, g.ID, strings.Join(g.Countries, " "))
	if g.Note != "" {
		render.Fprintf(w, "note       %s\n", g.Note)
	}
	render.Fprintf(w, "source     %s\n", citation(c, g.Source))
}
