package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/vigil-iot/vigil/detector/history"
	"github.com/vigil-iot/vigil/proto"
)

// MetricValues is the metric history that ListMetricValues reads: the
// points of one thing's metric from start (inclusive) to end (exclusive),
// oldest first, at most limit of them, and the token of the next page.
type MetricValues interface {
	Values(thing, metric string, start, end time.Time, token string, limit int) ([]history.Point, string, error)
}

var _ MetricValues = (*history.History)(nil)

// metricValueRoutes registers ListMetricValues when the API has a history;
// without one, its path is an unknown operation.
func (s *server) metricValueRoutes() {
	if s.history == nil {
		return
	}
	s.handle("GET /api/metric-values", s.listMetricValues)
}

// metricDatumOut is a MetricDatum with its time in epoch seconds.
type metricDatumOut struct {
	Timestamp epochSeconds       `json:"timestamp"`
	Value     *proto.MetricValue `json:"value"`
}

// metricValuesOut is ListMetricValues' answer.
type metricValuesOut struct {
	MetricDatumList []metricDatumOut `json:"metricDatumList"`
	NextToken       string           `json:"nextToken,omitempty"`
}

// metricValuesQuery is what ListMetricValues asks for.
type metricValuesQuery struct {
	thing, metric string
	start, end    time.Time
	page          page
}

// readMetricValuesQuery reads and checks the query parameters, the
// required ones first.
func readMetricValuesQuery(r *http.Request) (metricValuesQuery, error) {
	var q metricValuesQuery
	var err error
	if q.thing, err = requiredParam(r, "thingName"); err != nil {
		return q, err
	}
	if q.metric, err = requiredParam(r, "metricName"); err != nil {
		return q, err
	}
	if q.start, q.end, err = timeRange(r); err != nil {
		return q, err
	}
	if q.metric, err = seriesParam(r.URL.Query(), q.metric); err != nil {
		return q, err
	}
	q.page, err = pageOf(r, "metric-values")
	return q, err
}

func (s *server) listMetricValues(w http.ResponseWriter, r *http.Request) error {
	q, err := readMetricValuesQuery(r)
	if err != nil {
		return err
	}
	points, next, err := s.history.Values(q.thing, q.metric, q.start, q.end, q.page.after, q.page.max)
	switch {
	case errors.Is(err, history.ErrInvalidToken):
		return invalid("nextToken: not a token from this listing; start again without it")
	case errors.Is(err, history.ErrInvalidName):
		return invalid("thingName, metricName: must not hold a NUL character")
	case err != nil:
		return err
	}
	out := metricValuesOut{MetricDatumList: make([]metricDatumOut, 0, len(points))}
	if next != "" {
		out.NextToken = q.page.token(next)
	}
	for _, p := range points {
		out.MetricDatumList = append(out.MetricDatumList, metricDatumOut{Timestamp: secondsOf(p.Time), Value: p.Value.MetricValue()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
