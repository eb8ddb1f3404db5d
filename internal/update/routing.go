package update

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sovmap/sovmap/internal/snapshot"
	"github.com/sovmap/sovmap/internal/source/delegated"
	"github.com/sovmap/sovmap/internal/source/feed"
	"github.com/sovmap/sovmap/internal/source/ipdb"
	"github.com/sovmap/sovmap/internal/source/pfx2as"
)

// A group is the routing sources that replace one dataset together.
type group struct {
	name    string
	dataset snapshot.Dataset
	members []Source
}

// A datasetPlan says which group gives a dataset; group is nil when none
// can, and the dataset is kept from the previous snapshot.
type datasetPlan struct {
	dataset snapshot.Dataset
	group   *group
	reason  string            // why no group, when group is nil
	others  []*group          // the dataset's other groups, not used
	why     map[string]string // why each other group is not used
}

var datasets = []snapshot.Dataset{snapshot.ASNData, snapshot.RegistrationData, snapshot.LocationData}

// planRouting picks, for each dataset, the first of its groups in the
// registry's order that is selected (any member selected selects the
// group: a dataset is replaced whole) and available: every member has a
// URL, or with --from, the folder has at least one member's file (a group
// that is there in part fails, so that it is noticed).
func (u *updater) planRouting(srcs []Source, selected func(Source) bool) []datasetPlan {
	var groups []*group
	for _, s := range srcs {
		if s.Kind != Routing {
			continue
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return g.name == s.group() })
		if i < 0 {
			groups = append(groups, &group{name: s.group(), dataset: s.Dataset})
			i = len(groups) - 1
		}
		groups[i].members = append(groups[i].members, s)
	}
	var plans []datasetPlan
	for _, ds := range datasets {
		p := datasetPlan{dataset: ds, why: map[string]string{}}
		for _, g := range groups {
			if g.dataset != ds {
				continue
			}
			why := ""
			switch {
			case !slices.ContainsFunc(g.members, selected):
				why = "not selected"
			case p.group != nil:
				why = "the " + ds.String() + " data comes from " + p.group.name
			default:
				why = u.unavailable(g)
			}
			if why == "" {
				p.group = g
				continue
			}
			p.others = append(p.others, g)
			p.why[g.name] = why
		}
		if p.group == nil {
			var rs []string
			for _, g := range p.others {
				rs = append(rs, g.name+": "+p.why[g.name])
			}
			p.reason = strings.Join(rs, "; ")
		}
		plans = append(plans, p)
	}
	return plans
}

// unavailable says why a group cannot be read now, "" if it can.
func (u *updater) unavailable(g *group) string {
	if u.opts.From != "" {
		for _, m := range g.members {
			if _, ok := findFile(u.opts.From, m); ok {
				return ""
			}
		}
		return "no files in " + u.opts.From
	}
	for _, m := range g.members {
		if m.URL == "" {
			if m.configured {
				return m.Name + " is disabled by the configuration"
			}
			return "no URL configured for " + m.Name
		}
	}
	return ""
}

// A datasetResult is what the new snapshot holds for a dataset: new data
// (add, with its source description) or, when add is nil, the previous
// snapshot's.
type datasetResult struct {
	dataset snapshot.Dataset
	info    snapshot.SourceInfo
	add     func(*snapshot.Builder) error
}

// parsedFile is one routing file, checked.
type parsedFile struct {
	in        *input
	records   int
	coversAll string
	ipdbData  []byte           // ip-location-db: the CSV itself
	entries   []pfx2as.Entry   // pfx2as
	spans     []countrySpan    // delegated
	header    delegated.Header // delegated
}

type countrySpan struct {
	first, last netip.Addr
	cc          string
}

// routing checks the planned groups and decides each dataset.
func (u *updater) routing(plans []datasetPlan, inputs map[string]*input) []datasetResult {
	var out []datasetResult
	for _, p := range plans {
		res := datasetResult{dataset: p.dataset}
		for _, g := range p.others {
			status := StatusUnused
			if p.why[g.name] == "not selected" {
				status = StatusKept
			}
			for _, m := range g.members {
				u.rep.Sources = append(u.rep.Sources, SourceReport{Name: m.Name, Kind: m.Kind.String(), Dataset: p.dataset.String(),
					URL: m.URL, Status: status, Reason: p.why[g.name]})
			}
		}
		prevInfo := u.prevSource(p.dataset)
		dr := DatasetReport{Dataset: p.dataset.String(), Status: StatusKept, Source: sourceLabel(prevInfo)}
		if p.group == nil {
			dr.Reason = p.reason
			u.rep.Datasets = append(u.rep.Datasets, dr)
			out = append(out, res)
			continue
		}
		gr := u.routingGroup(p.group, inputs, prevInfo)
		u.rep.Sources = append(u.rep.Sources, gr.reports...)
		if gr.ok {
			res.info, res.add = gr.info, gr.add
			dr.Status, dr.Source = StatusUpdated, p.group.name
			if gr.forced {
				dr.Status = StatusForced
			}
		} else {
			dr.Reason = p.group.name + " failed or was refused; the previous data is kept"
		}
		u.rep.Datasets = append(u.rep.Datasets, dr)
		out = append(out, res)
	}
	return out
}

// prevSource returns the previous snapshot's source of a dataset.
func (u *updater) prevSource(ds snapshot.Dataset) *snapshot.SourceInfo {
	for _, s := range u.prev.Meta().Sources {
		if s.Dataset == ds.String() {
			return &s
		}
	}
	return nil
}

func sourceLabel(s *snapshot.SourceInfo) string {
	if s == nil {
		return "none"
	}
	label := s.Name
	if s.Version != "" {
		label += " " + s.Version
	}
	if s.Date != "" {
		label += " (" + s.Date + ")"
	}
	return label
}

// groupInfo describes a group's data in the snapshot's metadata.
func groupInfo(g *group) snapshot.SourceInfo {
	switch g.members[0].format {
	case formatPfx2as:
		return snapshot.SourceInfo{Dataset: g.dataset.String(), Name: "CAIDA/routeviews-prefix2as",
			License:     "CAIDA Acceptable Use Agreement for public data; RouteViews data: CC BY 4.0",
			Attribution: "RouteViews (routeviews.org); prefix-to-AS mapping by CAIDA (caida.org)",
			URL:         "https://www.caida.org/catalog/datasets/routeviews-prefix2as/"}
	case formatDelegated:
		return snapshot.SourceInfo{Dataset: g.dataset.String(), Name: "RIR/delegated-extended",
			License:     "see each RIR's terms of use (NRO statistics: CC BY 4.0)",
			Attribution: "AFRINIC, APNIC, ARIN, LACNIC and the RIPE NCC (nro.net)",
			URL:         "https://www.nro.net/about/rirs/statistics/"}
	}
	dir := strings.TrimSuffix(g.members[0].Alt[0], "/"+g.members[0].File)
	info := snapshot.SourceInfo{Dataset: g.dataset.String(), Name: "@ip-location-db/" + dir, URL: "https://github.com/sapics/ip-location-db"}
	for _, p := range snapshot.Packages {
		if p.Dir == dir {
			info.License, info.Attribution = p.License, p.Attribution
		}
	}
	return info
}

// A groupResult is what a routing group gives its dataset: a report for
// each file, and when ok (every file was read and passed the health
// guards, or was forced past them) the data that replaces the dataset.
type groupResult struct {
	info    snapshot.SourceInfo
	add     func(*snapshot.Builder) error
	reports []SourceReport
	ok      bool
	forced  bool // a file failed the health guards and --force took it
}

// routingGroup reads and checks a group's files. A dataset is replaced
// whole: when one file fails, the group gives nothing.
func (u *updater) routingGroup(g *group, inputs map[string]*input, prevInfo *snapshot.SourceInfo) groupResult {
	res := groupResult{info: groupInfo(g)}
	var files []*parsedFile
	failed := false
	for _, m := range g.members {
		rep, pf := u.routingFile(g, m, inputs[m.Name], previousRecords(prevInfo, res.info.Name, m.File))
		failed = failed || rep.Failed
		res.forced = res.forced || rep.Status == StatusForced
		res.reports = append(res.reports, rep)
		files = append(files, pf)
	}
	if failed {
		u.refuseGroup(g, res.reports, files, prevInfo)
		return groupResult{info: res.info, reports: res.reports}
	}
	for i, pf := range files {
		u.keepRaw(&res.reports[i], pf.in, false)
		res.info.Files = append(res.info.Files, snapshot.FileInfo{Name: g.members[i].File, SHA256: pf.in.sha256, Lines: pf.records})
		if res.info.Date == "" || pf.in.date < res.info.Date {
			res.info.Date = pf.in.date // the oldest file dates the dataset
		}
		if v := versionOf(pf.in); v != "" && res.info.Version == "" {
			res.info.Version = v
		}
	}
	res.add, res.ok = u.groupAdder(g, files), true
	return res
}

// routingFile obtains, parses and checks one file of a group. It returns
// the file's report and the file, parsed, unless it could not be obtained
// or read (a file refused by the health guards is returned).
func (u *updater) routingFile(g *group, m Source, in *input, prevRecords int) (SourceReport, *parsedFile) {
	rep := SourceReport{Name: m.Name, Kind: m.Kind.String(), Dataset: g.dataset.String(), URL: m.URL}
	if why := u.notObtained(g, in); why != "" {
		rep.Status, rep.Reason, rep.Failed = StatusFailed, why, true
		return rep, nil
	}
	rep.URL, rep.Date, rep.SHA256, rep.Attempts, rep.Notes, rep.File = in.url, in.date, in.sha256, in.attempts, in.notes, in.path
	pf, err := parseRouting(in)
	if err != nil && !onlyEntryErrors(err) {
		rep.Status, rep.Reason, rep.Failed = StatusFailed, "unreadable: "+err.Error(), true
		u.keepRaw(&rep, in, true)
		return rep, nil
	}
	u.entryErrors(&rep, in, err)
	if pf.header.Line > 0 {
		if d := pf.header.Date(); d != "" {
			in.date, rep.Date = d, d
		}
	}
	rep.Records, rep.PreviousRecords = pf.records, prevRecords
	why := routingHealth(pf.records, prevRecords, pf.coversAll)
	switch {
	case len(why) == 0:
		rep.Status = StatusUpdated
	case u.opts.Force:
		rep.Reason, rep.Status = strings.Join(why, "; "), StatusForced
	default:
		rep.Reason, rep.Status, rep.Failed = strings.Join(why, "; "), StatusRefused, true
	}
	return rep, pf
}

// notObtained says why a group's member was not obtained, "" if it was.
func (u *updater) notObtained(g *group, in *input) string {
	switch {
	case in == nil:
		return "not obtained"
	case in.missing != "":
		return "incomplete group " + g.name + ": " + in.missing
	case in.err != nil:
		verb := "download failed"
		if u.opts.From != "" {
			verb = "read failed"
		}
		return verb + ": " + in.err.Error()
	}
	return ""
}

// previousRecords returns the records the previous snapshot counted in a
// file of the source named name, 0 when it has another source.
func previousRecords(prevInfo *snapshot.SourceInfo, name, file string) int {
	if prevInfo == nil || prevInfo.Name != name {
		return 0
	}
	n := 0
	for _, f := range prevInfo.Files {
		if f.Name == file {
			n = f.Lines
		}
	}
	return n
}

// refuseGroup marks every file of a failed group refused, keeps the raw
// files read, and notes that the previous data is kept.
func (u *updater) refuseGroup(g *group, reports []SourceReport, files []*parsedFile, prevInfo *snapshot.SourceInfo) {
	for i := range reports {
		if !reports[i].Failed {
			reports[i].Status, reports[i].Failed = StatusRefused, true
			reports[i].Reason = strings.TrimPrefix(reports[i].Reason+"; ", "; ") + "another file of " + g.name + " failed, and a dataset is replaced whole"
		}
		if files[i] != nil {
			u.keepRaw(&reports[i], files[i].in, true)
		}
		reports[i].Notes = append(reports[i].Notes, "kept the previous "+g.dataset.String()+" data: "+sourceLabel(prevInfo))
	}
}

// groupAdder returns the function that adds a group's files to the new
// snapshot, in the group's format.
func (u *updater) groupAdder(g *group, files []*parsedFile) func(*snapshot.Builder) error {
	switch g.members[0].format {
	case formatIPDB:
		return ipdbAdder(g, files)
	case formatPfx2as:
		return u.pfx2asAdder(g, files)
	case formatDelegated:
		return delegatedAdder(g, files)
	}
	return nil
}

// ipdbAdder adds ip-location-db CSVs as they are.
func ipdbAdder(g *group, files []*parsedFile) func(*snapshot.Builder) error {
	return func(b *snapshot.Builder) error {
		for i, pf := range files {
			if err := b.AddFile(g.dataset, g.members[i].File, bytes.NewReader(pf.ipdbData)); err != nil {
				return err
			}
		}
		return nil
	}
}

// pfx2asAdder adds prefix-to-AS files, flattened into spans, with the AS
// names of the previous and embedded snapshots.
func (u *updater) pfx2asAdder(g *group, files []*parsedFile) func(*snapshot.Builder) error {
	names := u.embedded.ASNames()
	if u.prev != u.embedded {
		for a, n := range u.prev.ASNames() {
			names[a] = n
		}
	}
	var lists [][]pfx2as.Entry
	for _, pf := range files {
		lists = append(lists, pf.entries)
	}
	return func(b *snapshot.Builder) error {
		return addCSV(b, g.dataset, "routeviews-prefix2as", func(w *bufio.Writer) {
			spans := flatten(lists...)
			lists = nil // let the entries go while the builder works
			for _, s := range spans {
				writeASN(w, s, names[s.asn])
			}
		})
	}
}

// delegatedAdder adds the country spans of RIR delegation files.
func delegatedAdder(g *group, files []*parsedFile) func(*snapshot.Builder) error {
	return func(b *snapshot.Builder) error {
		return addCSV(b, g.dataset, "delegated-extended", func(w *bufio.Writer) {
			for _, pf := range files {
				for _, s := range pf.spans {
					w.WriteString(s.first.String())
					w.WriteByte(',')
					w.WriteString(s.last.String())
					w.WriteByte(',')
					w.WriteString(s.cc)
					w.WriteByte('\n')
				}
			}
		})
	}
}

// versionOf names the version of a routing file: the stem of a dated
// upstream name such as routeviews-rv2-20260801-1200.pfx2as.gz.
func versionOf(in *input) string {
	name := in.url
	if in.path != "" {
		name = in.path
	}
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	if nameDate(name) == "" {
		return ""
	}
	if i := strings.Index(name, "."); i > 0 {
		name = name[:i]
	}
	return name
}

// parseRouting parses a routing file and measures it for the health guards.
func parseRouting(in *input) (*parsedFile, error) {
	pf := &parsedFile{in: in}
	switch in.src.format {
	case formatIPDB:
		kind := ipdb.Country
		if in.src.Dataset == snapshot.ASNData {
			kind = ipdb.ASN
		}
		lineErrs, err := ipdb.Read(in.src.File, bytes.NewReader(in.data), kind, func(r ipdb.Range) {
			if pf.coversAll == "" && isFirst(r.First) && isLast(r.Last) {
				pf.coversAll = r.First.String() + "-" + r.Last.String()
			}
		})
		if err != nil {
			return nil, err
		}
		var errs []error
		for _, le := range lineErrs {
			errs = append(errs, asParseError(le))
		}
		pf.ipdbData = in.data
		// Lines, as "sovmap data build" counts them, so that the embedded
		// snapshot's counts compare.
		pf.records = bytes.Count(in.data, []byte{'\n'})
		return pf, errors.Join(errs...)
	case formatPfx2as:
		es, err := pfx2as.Parse(bytes.NewReader(in.data))
		if err != nil && !onlyEntryErrors(err) {
			return nil, err
		}
		pf.records = len(es)
		kept := es[:0]
		for _, e := range es {
			if e.Prefix.Bits() == 0 && pf.coversAll == "" {
				pf.coversAll = e.Prefix.String()
			}
			if reservedASN(e.Origin()) {
				continue // the covering prefix's origin applies there
			}
			kept = append(kept, e)
		}
		pf.entries = kept
		return pf, err
	case formatDelegated:
		h, err := delegated.Read(bytes.NewReader(in.data), func(r delegated.Record) {
			pf.records++
			if !r.IsIP() || !r.Delegated() {
				return
			}
			if pf.coversAll == "" && isFirst(r.First) && isLast(r.Last) {
				pf.coversAll = r.First.String() + "-" + r.Last.String()
			}
			pf.spans = append(pf.spans, countrySpan{r.First, r.Last, r.CC})
		})
		if err != nil && !onlyEntryErrors(err) {
			return nil, err
		}
		pf.header = h
		return pf, err
	}
	return nil, fmt.Errorf("unknown format %d", in.src.format)
}

// asParseError turns an ip-location-db line error into the parse error of
// the other formats.
func asParseError(le *ipdb.LineError) error {
	return &feed.ParseError{Feed: "ip-location-db", Line: le.Line, Err: le.Err}
}

func isFirst(a netip.Addr) bool { return a == netip.IPv4Unspecified() || a == netip.IPv6Unspecified() }

func isLast(a netip.Addr) bool {
	return a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a == netip.AddrFrom16([16]byte{
		255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})
}

// reservedASN reports whether an AS number cannot be a real origin
// (RFC 7607, 6793, 5398, 6996, 7300); the snapshot builder drops such
// ranges too, but here the prefix's line is still known.
func reservedASN(a uint32) bool {
	return a == 0 || a == 23456 || (a >= 64496 && a <= 65551) || a >= 4200000000
}

// addCSV feeds generated ip-location-db CSV lines to the builder through a
// pipe, so that the whole file is never in memory.
func addCSV(b *snapshot.Builder, ds snapshot.Dataset, name string, gen func(*bufio.Writer)) error {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 256<<10)
		gen(w)
		pw.CloseWithError(w.Flush())
	}()
	err := b.AddFile(ds, name, pr)
	pr.CloseWithError(io.ErrClosedPipe) // stop the writer if AddFile stopped early
	return err
}

func writeASN(w *bufio.Writer, s span, name string) {
	w.WriteString(s.first.String())
	w.WriteByte(',')
	w.WriteString(s.last.String())
	w.WriteByte(',')
	w.WriteString(strconv.FormatUint(uint64(s.asn), 10))
	w.WriteString(`,"`)
	w.WriteString(strings.ReplaceAll(name, `"`, `""`))
	w.WriteString("\"\n")
}

// A span is a range of addresses with one origin AS.
type span struct {
	first, last netip.Addr
	asn         uint32
}

// flatten turns announced prefixes, which nest, into disjoint ranges in
// which the most specific prefix's origin applies (longest-prefix match),
// merging neighbours of one origin. Where a prefix is listed twice, the
// later listing wins.
func flatten(lists ...[]pfx2as.Entry) []span {
	type item struct {
		first, last netip.Addr
		asn         uint32
		order       int
	}
	n := 0
	for _, es := range lists {
		n += len(es)
	}
	items := make([]item, 0, n)
	for _, es := range lists {
		for _, e := range es {
			items = append(items, item{e.Prefix.Addr(), lastAddr(e.Prefix), e.Origin(), len(items)})
		}
	}
	// By start; at the same start, the larger prefix first, so that the
	// more specific one is pushed above it; a repeated prefix in file
	// order, so that the later line wins.
	slices.SortFunc(items, func(a, b item) int {
		if c := a.first.Compare(b.first); c != 0 {
			return c
		}
		if c := b.last.Compare(a.last); c != 0 {
			return c
		}
		return a.order - b.order
	})
	out := make([]span, 0, len(items))
	emit := func(first, last netip.Addr, asn uint32) {
		if n := len(out); n > 0 && out[n-1].asn == asn && out[n-1].last.Next() == first {
			out[n-1].last = last
			return
		}
		out = append(out, span{first, last, asn})
	}
	var stack []item
	var pos netip.Addr // the first address not yet emitted; invalid past the end of a family
	// close pops the prefixes that end before next (all with next invalid),
	// emitting what is left of each.
	closeBefore := func(next netip.Addr) {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if next.IsValid() && !top.last.Less(next) {
				return
			}
			stack = stack[:len(stack)-1]
			if pos.IsValid() && pos.Is4() == top.last.Is4() && !top.last.Less(pos) {
				emit(pos, top.last, top.asn)
				pos = top.last.Next() // invalid after the family's last address
			}
		}
	}
	for _, it := range items {
		if len(stack) > 0 && stack[len(stack)-1].first.Is4() != it.first.Is4() {
			closeBefore(netip.Addr{}) // a new address family
		}
		closeBefore(it.first)
		if len(stack) > 0 && pos.IsValid() && pos.Less(it.first) {
			emit(pos, it.first.Prev(), stack[len(stack)-1].asn)
		}
		pos = it.first
		stack = append(stack, it)
	}
	closeBefore(netip.Addr{})
	return out
}

// lastAddr returns the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	if p.Addr().Is4() {
		b := p.Addr().As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b)
	}
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}
