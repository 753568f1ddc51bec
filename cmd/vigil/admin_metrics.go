package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newMetricsCmd() *cobra.Command {
	return parentCmd("metrics", "Show metric history: a thing's datapoints, a profile's fleet statistics",
		"metrics reads the metric history the server keeps (14 days by default): the raw datapoints of a\n"+
			"thing, and the fleet percentiles behind a profile's statistical behaviors.",
		"  vigil metrics values --thing cam-01 --metric aws:all-bytes-out\n"+
			"  vigil metrics stats --profile cameras --metric aws:all-bytes-out --period 1h",
		newMetricsValuesCmd(), newMetricsStatsCmd())
}

func newMetricsValuesCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "values --thing T --metric M",
		short: "List the datapoints of one thing's metric",
		example: "  vigil metrics values --thing cam-01 --metric aws:listening-tcp-ports\n" +
			"  vigil metrics values --thing cam-01 --metric batteryPercentage --since 7d -o json\n" +
			"  vigil metrics values --thing cam-01 --metric aws:num-messages-sent --dimension own-reports --dimension-operator NOT_IN",
		args: cobra.NoArgs,
		flags: func(f *pflag.FlagSet) {
			f.String("thing", "", "thing name (required)")
			f.String("metric", "", "metric: aws:... or a custom metric name (required)")
			addDimensionFlags(f)
			addTimeRangeFlags(f, time.Hour)
		},
		run: func(s *session, _ []string) error { return s.metricValues(time.Now()) },
	})
}

func (s *session) metricValues(now time.Time) error {
	f := s.cmd.Flags()
	if err := requireFlags(f, "thing", "metric"); err != nil {
		return err
	}
	start, end, err := timeRange(f, now)
	if err != nil {
		return err
	}
	q := url.Values{
		"thingName":  {mustString(f, "thing")},
		"metricName": {mustString(f, "metric")},
		"startTime":  {epochParam(start)},
		"endTime":    {epochParam(end)},
	}
	dimensionParams(f, q)
	const path = "/api/metric-values"
	l, err := s.api.listAll(s.ctx(), path, q, "metricDatumList")
	if err != nil || s.json {
		return s.answer(l.json(), s.newerServer(err, path))
	}
	items, err := decodeItems(l.items)
	if err != nil {
		return err
	}
	t := newTable("TIME", "VALUE")
	for _, o := range items {
		t.row(o.time("timestamp"), formatMetricValue(o.get("value")))
	}
	return t.write(s)
}

// statisticPattern is a percentile the server computes: p0 to p100,
// decimals allowed (p99.9).
var statisticPattern = regexp.MustCompile(`^p(100|[1-9]?[0-9](\.[0-9]+)?)$`)

func newMetricsStatsCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "stats --profile P --metric M",
		short: "Show the fleet percentiles of a metric over a profile's devices",
		long: "stats shows, for each period, the chosen percentiles of a metric over the devices a security\n" +
			"profile covers, and how many devices reported.",
		example: "  vigil metrics stats --profile cameras --metric aws:all-bytes-out\n" +
			"  vigil metrics stats --profile cameras --metric aws:all-bytes-out --period 5m --since 6h --statistics p50,p99",
		args: cobra.NoArgs,
		flags: func(f *pflag.FlagSet) {
			f.String("profile", "", "security profile (required)")
			f.String("metric", "", "metric: aws:... or a custom metric name (required)")
			spanFlag(f, "period", time.Hour, "length of each period: 5m, 1h or 1d")
			f.String("statistics", "p0,p50,p90,p100", "percentiles, comma-separated")
			addDimensionFlags(f)
			addTimeRangeFlags(f, 24*time.Hour)
		},
		run: func(s *session, _ []string) error { return s.metricStats(time.Now()) },
	})
}

func (s *session) metricStats(now time.Time) error {
	f := s.cmd.Flags()
	if err := requireFlags(f, "profile", "metric"); err != nil {
		return err
	}
	stats, err := parseStatistics(mustString(f, "statistics"))
	if err != nil {
		return err
	}
	period := getSpan(f, "period")
	if period < time.Minute || period%time.Minute != 0 {
		return usageErrorf("--period %s: want whole minutes, such as 5m, 1h or 1d", period)
	}
	start, end, err := timeRange(f, now)
	if err != nil {
		return err
	}
	q := url.Values{
		"securityProfileName": {mustString(f, "profile")},
		"metricName":          {mustString(f, "metric")},
		"startTime":           {epochParam(start)},
		"endTime":             {epochParam(end)},
		"period":              {strconv.FormatInt(int64(period/time.Second), 10)},
		"statistics":          {strings.Join(stats, ",")},
	}
	dimensionParams(f, q)
	const path = "/api/metric-statistics"
	l, err := s.api.listAll(s.ctx(), path, q, "")
	if err != nil || s.json {
		return s.answer(l.json(), s.newerServer(err, path))
	}
	return s.statsTable(l, stats)
}

func parseStatistics(s string) ([]string, error) {
	stats := strings.Split(s, ",")
	for i, st := range stats {
		stats[i] = strings.TrimSpace(st)
		if !statisticPattern.MatchString(stats[i]) {
			return nil, usageErrorf("--statistics %q: want percentiles such as p0,p50,p90,p99.9,p100", s)
		}
	}
	return stats, nil
}

// statsTable shows one row per period: its start, each percentile, and the
// number of devices.
func (s *session) statsTable(l apiList, stats []string) error {
	items, err := decodeItems(l.items)
	if err != nil {
		return err
	}
	header := []string{"TIME"}
	for _, st := range stats {
		header = append(header, strings.ToUpper(st))
	}
	t := newTable(append(header, "DEVICES")...).omitEmpty("DEVICES")
	for _, o := range items {
		row := []string{o.time("timestamp", "startTime", "periodStart", "time")}
		for _, st := range stats {
			row = append(row, statValue(o, st))
		}
		row = append(row, o.text("population", "deviceCount", "devices", "count"))
		t.row(row...)
	}
	return t.write(s)
}

// statValue finds a percentile of one period. Keys are looked up whole, as
// "p99.9" holds a dot.
func statValue(o apiObject, stat string) string {
	if v, ok := o[stat]; ok {
		return formatValue(v)
	}
	for _, k := range []string{"statistics", "percentiles", "values"} {
		switch c := o[k].(type) {
		case map[string]any:
			if v, ok := c[stat]; ok {
				return formatValue(v)
			}
		case []any: // [{"statistic": "p50", "value": 3}, ...]
			for _, e := range c {
				if m, _ := asMap(e); m.text("statistic") == stat {
					return m.text("value")
				}
			}
		}
	}
	return ""
}

// newerServer explains the answer of a server that has no such operation
// (an older one, which predates the metric history endpoints).
func (s *session) newerServer(err error, path string) error {
	var ae *apiError
	if !errors.As(err, &ae) || (ae.Status != http.StatusNotFound && ae.Status != http.StatusMethodNotAllowed) {
		return err
	}
	if !ae.AWS || ae.Code == "UnknownOperationException" || ae.Code == "MethodNotAllowedException" {
		return fmt.Errorf("the server at %s does not provide %s (HTTP %d): it needs a newer version of vigil", s.api.base, path, ae.Status)
	}
	return err
}
