package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/detector/fleetstats"
	"github.com/vigil-iot/vigil/detector/percentile"
)

// FleetSeries reads the fleet's per-window summaries of a profile's metric,
// as fleetstats.Aggregator does.
type FleetSeries interface {
	Series(profile, metric string, start, end time.Time, period fleetstats.Period, statistics []string,
		token string, limit int) ([]fleetstats.Point, string, error)
}

var _ FleetSeries = (*fleetstats.Aggregator)(nil)

// metricStatisticsRoutes registers GET /api/metric-statistics when there
// are fleet statistics to serve; without them the path is an unknown
// operation.
func (s *server) metricStatisticsRoutes() {
	if s.fleet != nil {
		s.handle("GET /api/metric-statistics", s.getMetricStatistics)
	}
}

// metricStatisticOut is one period of the series.
type metricStatisticOut struct {
	Timestamp   epochSeconds       `json:"timestamp"` // the period's start
	Period      int64              `json:"period"`    // in seconds
	DeviceCount uint64             `json:"deviceCount"`
	Statistics  map[string]float64 `json:"statistics"`
}

// metricStatisticsOut is the answer of GET /api/metric-statistics.
type metricStatisticsOut struct {
	MetricStatistics []metricStatisticOut `json:"metricStatistics"`
	NextToken        string               `json:"nextToken,omitempty"`
}

// statisticsQuery is what GET /api/metric-statistics asks for.
type statisticsQuery struct {
	profile, metric string
	start, end      time.Time
	period          fleetstats.Period
	statistics      []string
}

// getMetricStatistics answers with the fleet summaries of a profile's
// metric whose periods start in [startTime, endTime), oldest first: for
// each, the statistics asked for (fleetstats.DefaultStatistics when none
// are) over the devices' values and the device count. Only closed periods
// are listed. The profile must exist; a metric with no summaries gives an
// empty list, since a metric dropped from a profile keeps its history.
func (s *server) getMetricStatistics(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "metric-statistics")
	if err != nil {
		return err
	}
	q, err := readStatisticsQuery(r)
	if err != nil {
		return err
	}
	if _, ok := s.reg.Profile(q.profile); !ok {
		return notFound("security profile %q not found", q.profile)
	}
	points, next, err := s.fleet.Series(q.profile, q.metric, q.start, q.end, q.period, q.statistics, p.after, p.max)
	if errors.Is(err, fleetstats.ErrInvalidToken) {
		return invalid("nextToken: not a token from this listing; start again without it")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statisticsOut(points, p, next))
	return nil
}

func statisticsOut(points []fleetstats.Point, p page, next string) metricStatisticsOut {
	out := metricStatisticsOut{MetricStatistics: make([]metricStatisticOut, 0, len(points))}
	if next != "" {
		out.NextToken = p.token(next)
	}
	for _, pt := range points {
		out.MetricStatistics = append(out.MetricStatistics, metricStatisticOut{
			Timestamp: secondsOf(pt.Start), Period: pt.Period.Seconds(), DeviceCount: pt.Devices, Statistics: pt.Values,
		})
	}
	return out
}

// readStatisticsQuery reads and checks the query parameters, naming the
// first that is missing or wrong.
func readStatisticsQuery(r *http.Request) (q statisticsQuery, err error) {
	if q.profile, err = requiredParam(r, "securityProfileName"); err != nil {
		return q, err
	}
	if q.metric, err = requiredParam(r, "metricName"); err != nil {
		return q, err
	}
	if q.metric, err = seriesParam(r.URL.Query(), q.metric); err != nil {
		return q, err
	}
	if q.start, q.end, err = timeRange(r); err != nil {
		return q, err
	}
	if q.period, err = periodParam(r); err != nil {
		return q, err
	}
	q.statistics, err = statisticsParam(r)
	return q, err
}

// periodParam reads the required period: seconds (300, 3600, 86400) or a
// duration (5m, 1h, 1d).
func periodParam(r *http.Request) (fleetstats.Period, error) {
	s, err := requiredParam(r, "period")
	if err != nil {
		return 0, err
	}
	p, err := fleetstats.ParsePeriod(s)
	if err != nil {
		return 0, invalid("period: must be 300, 3600 or 86400 seconds (or 5m, 1h, 1d), got %q", s)
	}
	return p, nil
}

// statisticsParam reads the optional statistics, comma-separated, the
// parameter given once or more: p0, p10, p50, p90, p100 and the other
// names of percentile.Statistics. Repeats count once.
func statisticsParam(r *http.Request) ([]string, error) {
	var out []string
	for _, list := range r.URL.Query()["statistics"] {
		for name := range strings.SplitSeq(list, ",") {
			name = strings.TrimSpace(name)
			if _, err := percentile.ParseStatistic(name); err != nil {
				return nil, invalid("statistics: %q is not one of %s", name, strings.Join(percentile.Statistics, ", "))
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out, nil
}
