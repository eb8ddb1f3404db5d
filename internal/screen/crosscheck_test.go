package screen

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// transcriptions are third-party copies of the FCC Covered List and of the
// NDAA section 889 names (OpenSanctions, non-commercial licence), present on
// the developers' machines only. The lists in data/ are written from the
// official sources; this test checks them against the transcriptions and
// never copies from them.
const transcriptions = "../../../shared/data/opensanctions-us-lists"

func readCSVFile(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(transcriptions, name))
	if err != nil {
		t.Skipf("no transcription to check against: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var (
	leadingDate = regexp.MustCompile(`^[A-Z][a-z]+ \d{1,2}, \d{4}`)
	byEntity    = regexp.MustCompile(`(?:produced by|provided by|supplied, directly or indirectly, by) (.+?)(?:,| subject to| or any| to the extent| including)`)
)

func TestAgainstFCCTranscription(t *testing.T) {
	if _, err := os.Stat(transcriptions); err != nil {
		t.Skip("../shared/data is absent")
	}
	rows := readCSVFile(t, "us_fcc_covered_list_table.csv")
	l := embedded(t)
	m := NewMatcher(l)
	ours := map[string]bool{} // fcc-covered listing dates we hold
	for _, e := range l.Entities() {
		for _, ls := range e.Listings {
			if ls.List == "fcc-covered" {
				ours[e.ID+" "+ls.Since] = true
			}
		}
	}
	theirDates := map[string]bool{}
	for _, row := range rows[1:] {
		text, when := row[0], row[1]
		d := leadingDate.FindString(when)
		date, err := time.Parse("January 2, 2006", d)
		if err != nil {
			t.Errorf("row %q: date %q: %v", text[:40], when, err)
			continue
		}
		since := date.Format("2006-01-02")
		theirDates[since] = true
		var names []string
		switch {
		case strings.Contains(text, "1709(a)(1)"):
			names = []string{"DJI", "Autel Robotics"} // the entities that section 1709(a)(1) names
		default:
			if mm := byEntity.FindStringSubmatch(text); mm != nil {
				names = strings.Split(mm[1], " and its wholly-owned subsidiary ")
			}
		}
		if len(names) == 0 {
			t.Logf("category entry without a company (not screenable by name): %.60s… (%s)", text, since)
			continue
		}
		for _, n := range names {
			ms := m.Match(n)
			if len(ms) == 0 || ms[0].Status != StatusHit {
				t.Errorf("transcribed entry %q (%s) is not a hit in our lists", n, since)
				continue
			}
			if !ours[ms[0].Entity.ID+" "+since] {
				t.Errorf("transcribed entry %q matches %s, which has no fcc-covered listing since %s", n, ms[0].Entity.ID, since)
			}
		}
	}
	for k := range ours {
		id, since, _ := strings.Cut(k, " ")
		if !theirDates[since] {
			t.Errorf("our listing of %s since %s has no entry of that date in the transcription", id, since)
		}
	}
}

func TestAgainstNDAA889Transcription(t *testing.T) {
	if _, err := os.Stat(transcriptions); err != nil {
		t.Skip("../shared/data is absent")
	}
	rows := readCSVFile(t, "us_ndaa_section_889.csv")
	l := embedded(t)
	m := NewMatcher(l)
	var got []string
	for _, row := range rows[1:] {
		name := row[1]
		ms := m.Match(name)
		if len(ms) == 0 || ms[0].Status != StatusHit {
			t.Errorf("section 889 company %q is not a hit", name)
			continue
		}
		e := ms[0].Entity
		if !slices.ContainsFunc(e.Listings, func(ls Listing) bool { return ls.List == "ndaa-889" }) {
			t.Errorf("section 889 company %q matches %s, which has no ndaa-889 listing", name, e.ID)
		}
		got = append(got, e.ID)
	}
	slices.Sort(got)
	if want := []string{"dahua", "hikvision", "huawei", "hytera", "zte"}; !slices.Equal(got, want) {
		t.Errorf("section 889 companies = %v, want %v", got, want)
	}
}
