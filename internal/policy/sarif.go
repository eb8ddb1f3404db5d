package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// SARIF 2.1.0 identifiers.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

// A Located finding is a finding with the record it is about and, when the
// record came from a file, its place there.
type Located struct {
	Finding
	Kind    string // record kind
	Subject string // what the record is about: an address, "domain layer", …
	File    string // the file the record came from; "" for arguments or a pipe
	Line    int    // 1-based line in File; 0 if unknown
}

// A Tool describes the program that reports, for SARIF's tool.driver.
type Tool struct {
	Name           string
	Version        string
	InformationURI string
}

// SARIF log types: only what sovmap writes. Field names follow the SARIF
// 2.1.0 schema.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name,omitempty"`
		ShortDescription     sarifText      `json:"shortDescription"`
		FullDescription      *sarifText     `json:"fullDescription,omitempty"`
		HelpURI              string         `json:"helpUri,omitempty"`
		Help                 *sarifText     `json:"help,omitempty"`
		DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties,omitempty"`
	}
	sarifConfig struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID     string          `json:"ruleId"`
		RuleIndex  int             `json:"ruleIndex"`
		Level      string          `json:"level"`
		Message    sarifText       `json:"message"`
		Locations  []sarifLocation `json:"locations"`
		Properties map[string]any  `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
		Kind               string `json:"kind,omitempty"`
	}
)

// securitySeverity is the CVSS-like score that code-scanning dashboards sort
// by (GitHub reads properties["security-severity"]).
func securitySeverity(s Severity) string {
	switch s {
	case SeverityCritical:
		return "9.5"
	case SeverityHigh:
		return "8.0"
	case SeverityMedium:
		return "5.5"
	case SeverityLow:
		return "3.0"
	}
	return "0.0"
}

// WriteSARIF writes a SARIF 2.1.0 log with one run: the rules (all of them,
// so that dashboards can show what was checked) and the located findings.
// Every result has a logical location naming its subject, and a physical
// location when the record came from a file.
func WriteSARIF(w io.Writer, tool Tool, rules []*Rule, results []Located) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: tool.Name, Version: tool.Version, InformationURI: tool.InformationURI}}}
	index := map[string]int{}
	run.Tool.Driver.Rules = []sarifRule{}
	for _, r := range rules {
		index[r.ID] = len(run.Tool.Driver.Rules)
		sr := sarifRule{
			ID:                   r.ID,
			Name:                 ruleName(r.ID),
			ShortDescription:     sarifText{r.Title},
			HelpURI:              r.Source.URL,
			Help:                 &sarifText{fmt.Sprintf("Source: %s (%s), %s", r.Source.Title, r.Source.Date, r.Source.URL)},
			DefaultConfiguration: sarifConfig{Level: r.Severity.SARIFLevel()},
			Properties: map[string]any{
				"severity":          r.Severity.String(),
				"security-severity": securitySeverity(r.Severity),
				"policy":            r.Policy,
				"appliesTo":         r.AppliesTo,
				"tags":              []string{"sovmap", "policy:" + r.Policy},
				"source":            r.Source,
			},
		}
		if r.Description != "" {
			sr.FullDescription = &sarifText{r.Description}
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sr)
	}
	run.Results = []sarifResult{}
	for _, l := range results {
		i, ok := index[l.Rule]
		if !ok {
			return fmt.Errorf("policy: sarif: finding of unknown rule %q", l.Rule)
		}
		loc := sarifLocation{LogicalLocations: []sarifLogical{{
			Name:               l.Subject,
			FullyQualifiedName: l.Kind + ":" + l.Subject,
			Kind:               "resource",
		}}}
		if l.File != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(l.File)}}
			if l.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: l.Line}
			}
		}
		res := sarifResult{
			RuleID:    l.Rule,
			RuleIndex: i,
			Level:     l.Severity.SARIFLevel(),
			Message:   sarifText{l.Message},
			Locations: []sarifLocation{loc},
			Properties: map[string]any{
				"severity": l.Severity.String(),
				"subject":  l.Subject,
				"kind":     l.Kind,
			},
		}
		if len(l.Evidence) > 0 {
			res.Properties["evidence"] = l.Evidence
		}
		run.Results = append(run.Results, res)
	}
	log := sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// ruleName turns "us-icts/control" into "UsIctsControl", SARIF's
// reportingDescriptor.name style.
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		if r == '-' || r == '/' || r == '_' || r == '.' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

// fileURI returns a relative URI reference for a file name: forward slashes,
// with characters outside the unreserved set escaped.
func fileURI(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
