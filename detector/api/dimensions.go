package api

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/proto"
)

// dimensionARN is the ARN of a dimension.
func dimensionARN(name string) string { return registry.ARNPrefix + "dimension/" + name }

func (s *server) dimensionRoutes() {
	s.handle("POST /api/dimensions/{name}", s.createDimension)
	s.handle("GET /api/dimensions/{name}", s.describeDimension)
	s.handle("PATCH /api/dimensions/{name}", s.updateDimension)
	s.handle("DELETE /api/dimensions/{name}", s.deleteDimension)
	s.handle("GET /api/dimensions", s.listDimensions)
}

// createDimensionBody is the body of CreateDimension.
type createDimensionBody struct {
	Name         *string        `json:"name"`
	Type         string         `json:"type"`
	StringValues []string       `json:"stringValues"`
	Tags         []registry.Tag `json:"tags"`
	// Accepted from AWS CLI input files and ignored: a second create of
	// the same dimension succeeds anyway.
	ClientRequestToken json.RawMessage `json:"clientRequestToken"`
}

// updateDimensionBody is the body of UpdateDimension.
type updateDimensionBody struct {
	Name         *string  `json:"name"`
	StringValues []string `json:"stringValues"`
}

// createDimensionOut is CreateDimension's answer.
type createDimensionOut struct {
	Name string `json:"name"`
	Arn  string `json:"arn"`
}

// dimensionOut is the answer of DescribeDimension and UpdateDimension.
type dimensionOut struct {
	Name             string       `json:"name"`
	Arn              string       `json:"arn"`
	Type             string       `json:"type"`
	StringValues     []string     `json:"stringValues"`
	CreationDate     epochSeconds `json:"creationDate"`
	LastModifiedDate epochSeconds `json:"lastModifiedDate"`
}

// listDimensionsOut is ListDimensions' answer.
type listDimensionsOut struct {
	DimensionNames []string `json:"dimensionNames"`
	NextToken      string   `json:"nextToken,omitempty"`
}

func toDimensionOut(d registry.Dimension) dimensionOut {
	return dimensionOut{Name: d.Name, Arn: dimensionARN(d.Name), Type: d.Type, StringValues: d.StringValues,
		CreationDate: secondsOf(d.Created), LastModifiedDate: secondsOf(d.Modified)}
}

func (s *server) createDimension(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body createDimensionBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("name", body.Name, name); err != nil {
		return err
	}
	d, err := s.svc.CreateDimension(registry.Dimension{Name: name, Type: body.Type, StringValues: body.StringValues, Tags: body.Tags})
	if err != nil {
		return existsError(err, name, dimensionARN(name))
	}
	writeJSON(w, http.StatusOK, createDimensionOut{Name: d.Name, Arn: dimensionARN(d.Name)})
	return nil
}

func (s *server) describeDimension(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	d, ok := s.reg.Dimension(name)
	if !ok {
		return notFound("dimension %q not found", name)
	}
	writeJSON(w, http.StatusOK, toDimensionOut(d))
	return nil
}

func (s *server) updateDimension(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var body updateDimensionBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("name", body.Name, name); err != nil {
		return err
	}
	d, err := s.svc.UpdateDimension(name, body.StringValues)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDimensionOut(d))
	return nil
}

func (s *server) deleteDimension(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteDimension(r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

func (s *server) listDimensions(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "dimensions")
	if err != nil {
		return err
	}
	items, next := paginate(s.reg.Dimensions(), func(d registry.Dimension) string { return d.Name }, p)
	out := listDimensionsOut{DimensionNames: make([]string, 0, len(items)), NextToken: next}
	for _, d := range items {
		out.DimensionNames = append(out.DimensionNames, d.Name)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// seriesParam returns the series a metric query names: the metric, or with
// dimensionName (and dimensionValueOperator, IN by default) the metric
// narrowed by that dimension.
func seriesParam(q url.Values, metric string) (string, error) {
	name, op := q.Get("dimensionName"), q.Get("dimensionValueOperator")
	if name == "" {
		if op != "" {
			return "", invalid("dimensionValueOperator: given without dimensionName")
		}
		return metric, nil
	}
	d := &proto.MetricDimension{DimensionName: name, Operator: op}
	if problems := detector.ValidateDimension("dimensionName", metric, d); len(problems) > 0 {
		p := problems[0]
		if p.Field == "dimensionName.operator" {
			p.Field = "dimensionValueOperator"
		}
		return "", invalid("%s: %s", p.Field, p.Message)
	}
	return detector.SeriesName(metric, d), nil
}
