package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A Package is one ip-location-db data package that a snapshot is built from.
type Package struct {
	Dir         string  // folder name under the build directory
	Dataset     Dataset // what it provides
	Prefix      string  // file name prefix, e.g. "asn" for asn-ipv4.csv
	License     string
	Attribution string
}

// Packages are the ip-location-db packages of the default snapshot.
var Packages = []Package{
	{Dir: "asn", Dataset: ASNData, Prefix: "asn", License: "CC BY 4.0",
		Attribution: "RouteViews (routeviews.org), the NRO and the five RIRs (nro.net), DB-IP IP to ASN Lite (db-ip.com); compiled by ip-location-db"},
	{Dir: "asn-country", Dataset: RegistrationData, Prefix: "asn-country", License: "CC0 1.0 (NRO statistics: CC BY 4.0)",
		Attribution: "the NRO and the five RIRs (nro.net); compiled by ip-location-db"},
	{Dir: "geo-whois-asn-country", Dataset: LocationData, Prefix: "geo-whois-asn-country", License: "CC0 1.0 (NRO statistics: CC BY 4.0)",
		Attribution: "geofeeds (RFC 8805), RIR WHOIS and the NRO statistics (nro.net); compiled by ip-location-db"},
}

// BuildDir builds a snapshot from the unpacked packages under dir (as
// scripts/fetch-ipdb.sh lays them out: dir/asn, dir/asn-country,
// dir/geo-whois-asn-country), each with its package.json.
func BuildDir(dir, name string) (*Table, []Problem, error) {
	b := NewBuilder(Meta{Name: name})
	if err := b.AddDir(dir); err != nil {
		return nil, nil, err
	}
	return b.Build()
}

// AddDir adds the unpacked packages under dir, as [BuildDir] reads them,
// and records each as a source of the snapshot. Provider feeds can then be
// added to the same builder ([Builder.AddFeed]): that is how the embedded
// snapshot is built (scripts/build-embedded.sh).
func (b *Builder) AddDir(dir string) error {
	for _, p := range Packages {
		pdir := filepath.Join(dir, p.Dir)
		var pj struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		}
		raw, err := os.ReadFile(filepath.Join(pdir, "package.json"))
		if err != nil {
			return fmt.Errorf("package %s: %w (fetch the packages with scripts/fetch-ipdb.sh)", p.Dir, err)
		}
		if err := json.Unmarshal(raw, &pj); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(pdir, "package.json"), err)
		}
		integrity, _ := os.ReadFile(filepath.Join(pdir, "INTEGRITY"))
		src := SourceInfo{
			Dataset:     p.Dataset.String(),
			Name:        pj.Name,
			Version:     pj.Version,
			Date:        versionDate(pj.Version),
			License:     p.License,
			Attribution: p.Attribution,
			URL:         "https://github.com/sapics/ip-location-db",
			Integrity:   strings.TrimSpace(string(integrity)),
		}
		for _, fam := range []string{"ipv4", "ipv6"} {
			fname := p.Prefix + "-" + fam + ".csv"
			path := filepath.Join(pdir, fname)
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(raw)
			src.Files = append(src.Files, FileInfo{Name: fname, SHA256: hex.EncodeToString(sum[:]), Lines: bytes.Count(raw, []byte{'\n'})})
			if err := b.AddFile(p.Dataset, filepath.Join(p.Dir, fname), bytes.NewReader(raw)); err != nil {
				return err
			}
		}
		b.meta.Sources = append(b.meta.Sources, src)
		if src.Date > b.meta.Built {
			b.meta.Built = src.Date
		}
	}
	return nil
}

// versionDate turns an ip-location-db version such as 2.3.2026061719 into
// the date of its data, 2026-06-17.
func versionDate(v string) string {
	i := strings.LastIndexByte(v, '.')
	d := v[i+1:]
	if len(d) < 8 {
		return ""
	}
	for _, c := range d[:8] {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return d[:4] + "-" + d[4:6] + "-" + d[6:8]
}

// Label returns the evidence label of a dataset's source, such as
// "ip-location-db asn 2026-06-17".
func (m Meta) Label(ds Dataset) string {
	for _, s := range m.Sources {
		if s.Dataset == ds.String() {
			return strings.Replace(strings.TrimPrefix(s.Name, "@"), "/", " ", 1) + " " + s.Date
		}
	}
	return m.Name
}
