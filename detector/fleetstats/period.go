package fleetstats

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is wrapped by the errors about arguments Series and
// ParsePeriod do not take: a period or a statistic.
var ErrInvalid = errors.New("invalid argument")

// ErrInvalidToken is returned by Series for a token it did not write.
var ErrInvalidToken = errors.New("invalid token")

// Period is the length of a summary's window.
type Period time.Duration

// The periods of the summaries.
const (
	Period5m = Period(5 * time.Minute)
	Period1h = Period(time.Hour)
	Period1d = Period(24 * time.Hour)
)

// Periods lists the periods, finest first.
var Periods = []Period{Period5m, Period1h, Period1d}

// Duration returns the period as a time.Duration.
func (p Period) Duration() time.Duration { return time.Duration(p) }

// Seconds returns the period in whole seconds.
func (p Period) Seconds() int64 { return int64(time.Duration(p) / time.Second) }

// String names the period as ParsePeriod reads it: "5m", "1h" or "1d".
func (p Period) String() string {
	switch p {
	case Period5m:
		return "5m"
	case Period1h:
		return "1h"
	case Period1d:
		return "1d"
	}
	return time.Duration(p).String()
}

// code is the period's byte in summary keys; 0 for a period that has no
// summaries.
func (p Period) code() byte {
	switch p {
	case Period5m:
		return 'm'
	case Period1h:
		return 'h'
	case Period1d:
		return 'd'
	}
	return 0
}

// ParsePeriod reads a period given in seconds ("300", "3600", "86400") or
// as a duration ("5m", "1h", "60m", "1d", "24h"). Only the three periods
// of the summaries are accepted.
func ParsePeriod(s string) (Period, error) {
	d, ok := parseDuration(s)
	if p := Period(d); ok && p.code() != 0 {
		return p, nil
	}
	return 0, fmt.Errorf("%w: period %q is not one of 300, 3600, 86400 (seconds) or 5m, 1h, 1d", ErrInvalid, s)
}

// parseDuration reads whole seconds, a number of days ("1d") or a Go
// duration.
func parseDuration(s string) (time.Duration, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, n > 0 && n <= 1<<32
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		return time.Duration(n) * 24 * time.Hour, err == nil && n > 0 && n <= 1<<16
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}
