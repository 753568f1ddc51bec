package fleetstats

import (
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-iot/vigil/detector/percentile"
)

// DefaultStatistics are the statistics Series returns when none are asked
// for.
var DefaultStatistics = []string{"p0", "p1", "p10", "p50", "p90", "p99", "p100"}

// DefaultMaxPoints is the page size of Series when none is given.
const DefaultMaxPoints = 1000

// Point is the summary of one window of a series.
type Point struct {
	// Start is the start of the window.
	Start time.Time
	// Period is the window's length.
	Period Period
	// Devices is the number of devices with a value in the window; for an
	// hour or a day, the largest number in any of its 5-minute windows.
	Devices uint64
	// Samples is the number of values summarised: one per device and
	// 5-minute window.
	Samples uint64
	// Values maps each statistic asked for ("p90") to its value.
	Values map[string]float64
}

// Series returns the summaries of a profile's metric for the windows of a
// period that start in [start, end), oldest first, with the statistics
// asked for (DefaultStatistics when there are none). Only closed windows
// have summaries: an hour or a day appears once all of its 5-minute windows
// are closed. It returns at most limit points (DefaultMaxPoints when limit
// is not positive) and, when there are more, a token that Series takes to
// continue after them; "" on the last page.
func (a *Aggregator) Series(profile, metric string, start, end time.Time, period Period, statistics []string, token string, limit int) ([]Point, string, error) {
	if period.code() == 0 {
		return nil, "", fmt.Errorf("%w: period %s is not one of 5m, 1h, 1d", ErrInvalid, time.Duration(period))
	}
	stats, err := parseStatistics(statistics)
	if err != nil {
		return nil, "", err
	}
	lo, hi := ceilSeconds(start), ceilSeconds(end)
	if token != "" {
		t, err := strconv.ParseInt(token, 10, 64)
		if err != nil || t < 0 {
			return nil, "", fmt.Errorf("%w: %q", ErrInvalidToken, token)
		}
		lo = max(lo, t)
	}
	if limit <= 0 {
		limit = DefaultMaxPoints
	}
	if lo >= hi || !validName(profile) || !validName(metric) {
		return []Point{}, "", nil
	}
	return a.scan(series{profile, metric}, period, lo, hi, stats, limit)
}

// scan reads up to limit points of a series' summaries starting in [lo, hi).
func (a *Aggregator) scan(s series, p Period, lo, hi int64, stats map[string]float64, limit int) ([]Point, string, error) {
	points, next := []Point{}, ""
	var bad error
	err := a.db.ScanRaw(s.key(p, lo), s.key(p, hi), func(k, v []byte) bool {
		_, start, _ := parseKey(k)
		if len(points) == limit {
			next = strconv.FormatInt(start, 10)
			return false
		}
		devices, sk, err := decodeSummary(v)
		if err != nil {
			bad = fmt.Errorf("fleet summary of %s %s (%s at %d): %w", s.profile, s.metric, p, start, err)
			return false
		}
		points = append(points, point(start, p, devices, sk, stats))
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, "", fmt.Errorf("read fleet series: %w", err)
	}
	return points, next, nil
}

// point computes the statistics of a summary.
func point(start int64, p Period, devices uint64, sk *percentile.Sketch, stats map[string]float64) Point {
	pt := Point{Start: time.Unix(start, 0).UTC(), Period: p, Devices: devices, Samples: sk.Count(),
		Values: make(map[string]float64, len(stats))}
	for name, pct := range stats {
		pt.Values[name] = sk.Quantile(pct)
	}
	return pt
}

// parseStatistics maps each statistic to its percentile.
func parseStatistics(names []string) (map[string]float64, error) {
	if len(names) == 0 {
		names = DefaultStatistics
	}
	out := make(map[string]float64, len(names))
	for _, name := range names {
		p, err := percentile.ParseStatistic(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		out[name] = p
	}
	return out, nil
}

// ceilSeconds rounds a time up to whole epoch seconds; times before 1970
// become 0.
func ceilSeconds(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return max(sec, 0)
}
