package api

import (
	"encoding/json"
	"net/http"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
)

func (s *server) customMetricRoutes() {
	s.handle("POST /api/custom-metric/{name}", s.createCustomMetric)
	s.handle("GET /api/custom-metric/{name}", s.describeCustomMetric)
	s.handle("DELETE /api/custom-metric/{name}", s.deleteCustomMetric)
	s.handle("GET /api/custom-metrics", s.listCustomMetrics)
}

// createCustomMetricBody is the body of CreateCustomMetric.
type createCustomMetricBody struct {
	MetricName  *string                `json:"metricName"`
	MetricType  proto.CustomMetricType `json:"metricType"`
	DisplayName string                 `json:"displayName"`
	// Accepted from AWS CLI input files and ignored: Vigil keeps no tags on
	// custom metrics, and a second create with the same name fails anyway.
	Tags               json.RawMessage `json:"tags"`
	ClientRequestToken json.RawMessage `json:"clientRequestToken"`
}

// createCustomMetricOut is CreateCustomMetric's answer.
type createCustomMetricOut struct {
	MetricName string `json:"metricName"`
	MetricArn  string `json:"metricArn"`
}

// customMetricOut is DescribeCustomMetric's answer.
type customMetricOut struct {
	MetricName       string                 `json:"metricName"`
	MetricArn        string                 `json:"metricArn"`
	MetricType       proto.CustomMetricType `json:"metricType"`
	DisplayName      string                 `json:"displayName,omitempty"`
	CreationDate     epochSeconds           `json:"creationDate"`
	LastModifiedDate epochSeconds           `json:"lastModifiedDate"`
}

// listCustomMetricsOut is ListCustomMetrics' answer.
type listCustomMetricsOut struct {
	MetricNames []string `json:"metricNames"`
	NextToken   string   `json:"nextToken,omitempty"`
}

func (s *server) createCustomMetric(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body createCustomMetricBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("metricName", body.MetricName, name); err != nil {
		return err
	}
	m, err := s.svc.CreateCustomMetric(registry.CustomMetric{Name: name, Type: body.MetricType, DisplayName: body.DisplayName})
	if err != nil {
		return existsError(err, name, customMetricARN(name))
	}
	writeJSON(w, http.StatusOK, createCustomMetricOut{MetricName: m.Name, MetricArn: customMetricARN(m.Name)})
	return nil
}

func (s *server) describeCustomMetric(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	m, ok := s.reg.CustomMetric(name)
	if !ok {
		return notFound("custom metric %q not found", name)
	}
	writeJSON(w, http.StatusOK, customMetricOut{MetricName: m.Name, MetricArn: customMetricARN(m.Name), MetricType: m.Type,
		DisplayName: m.DisplayName, CreationDate: secondsOf(m.Created), LastModifiedDate: secondsOf(m.Modified)})
	return nil
}

func (s *server) deleteCustomMetric(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteCustomMetric(r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *server) listCustomMetrics(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "custom-metrics")
	if err != nil {
		return err
	}
	items, next := paginate(s.reg.CustomMetrics(), func(m registry.CustomMetric) string { return m.Name }, p)
	out := listCustomMetricsOut{MetricNames: make([]string, 0, len(items)), NextToken: next}
	for _, m := range items {
		out.MetricNames = append(out.MetricNames, m.Name)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
