package iso

import "testing"

func TestIsCountry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"US", true},
		{"DE", true},
		{"XK", true}, // user-assigned, used for Kosovo
		{"ZZ", true}, // form only: placeholders are the caller's rule
		{"", false},
		{"U", false},
		{"USA", false},
		{"us", false},
		{"Us", false},
		{"uS", false},
		{"U1", false},
		{"1U", false},
		{"U ", false},
		{" U", false},
		{"Ü", false}, // two bytes, not two letters
		{"@[", false},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			if got := IsCountry(test.in); got != test.want {
				t.Errorf("IsCountry(%q) = %v, want %v", test.in, got, test.want)
			}
		})
	}
}

func TestIsDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"2026-06-17", true},
		{"2026-01-31", true},
		{"2026-12-31", true},
		{"2024-02-29", true}, // leap year
		{"2000-02-29", true}, // divisible by 400
		{"0000-01-01", true},
		{"2026-99-99", false},
		{"2026-02-30", false},
		{"2026-02-29", false}, // not a leap year
		{"1900-02-29", false}, // divisible by 100, not 400
		{"2026-04-31", false},
		{"2026-00-10", false},
		{"2026-13-01", false},
		{"2026-01-00", false},
		{"2026-01-32", false},
		{"", false},
		{"2026-1-02", false},
		{"2026-01-2", false},
		{"26-01-02", false},
		{"20260102", false},
		{"2026/01/02", false},
		{"2026-01-02 ", false},
		{" 2026-01-02", false},
		{"2026-01-02T00:00:00Z", false},
		{"+026-01-02", false},
		{"-026-01-02", false},
		{"２026-01-01", false}, // a full-width digit
		{"2026-0a-01", false},
	}
	for _, test := range tests {
		t.Run(test.in, func(t *testing.T) {
			t.Parallel()
			if got := IsDate(test.in); got != test.want {
				t.Errorf("IsDate(%q) = %v, want %v", test.in, got, test.want)
			}
		})
	}
}
