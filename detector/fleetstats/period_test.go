package fleetstats_test

import (
	"errors"
	"testing"

	"github.com/vigil-iot/vigil/detector/fleetstats"
)

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in   string
		want fleetstats.Period
	}{
		{"300", fleetstats.Period5m},
		{"5m", fleetstats.Period5m},
		{"300s", fleetstats.Period5m},
		{"3600", fleetstats.Period1h},
		{"1h", fleetstats.Period1h},
		{"60m", fleetstats.Period1h},
		{"86400", fleetstats.Period1d},
		{"1d", fleetstats.Period1d},
		{"24h", fleetstats.Period1d},
		// Periods without summaries, and what is not a period.
		{"60", 0}, {"1m", 0}, {"2h", 0}, {"7d", 0}, {"0", 0}, {"-300", 0}, {"", 0}, {"d", 0}, {"5 m", 0},
		{"1e3", 0}, {"99999999999999999999", 0}, {"300.0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := fleetstats.ParsePeriod(tt.in)
			if got != tt.want || (tt.want == 0) != errors.Is(err, fleetstats.ErrInvalid) {
				t.Errorf("ParsePeriod(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if tt.want != 0 {
				if again, err := fleetstats.ParsePeriod(got.String()); again != got || err != nil {
					t.Errorf("%s does not read back: %v, %v", got, again, err)
				}
			}
		})
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"300", "1h", "1d", "24h", "-1d", "9223372036854775807d", "1.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := fleetstats.ParsePeriod(s)
		if (err == nil) == (p == 0) {
			t.Fatalf("ParsePeriod(%q) = %v, %v", s, p, err)
		}
		if err == nil && p != fleetstats.Period5m && p != fleetstats.Period1h && p != fleetstats.Period1d {
			t.Fatalf("ParsePeriod(%q) = %v, not a period with summaries", s, p)
		}
	})
}
