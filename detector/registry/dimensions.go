package registry

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

// DimensionTopicFilter is the only dimension type, as in AWS.
const DimensionTopicFilter = "TOPIC_FILTER"

// Limits of dimensions, as AWS sets them.
const (
	MaxDimensionValues      = 100
	MaxDimensionValueLength = 256
)

// clientIDVariable may fill a whole level of a dimension's topic filter;
// it stands for the client id of the device whose messages are counted.
const clientIDVariable = "${iot:ClientId}"

// dimensionRecords is the store kind of dimensions.
const dimensionRecords store.Kind = "dimension"

// Dimension narrows broker-side metrics to the messages whose topics match
// (IN) or do not match (NOT_IN) its MQTT topic filters.
type Dimension struct {
	Name         string    `json:"name"`
	Type         string    `json:"type"`
	StringValues []string  `json:"stringValues"`
	Tags         []Tag     `json:"tags,omitempty"`
	Created      time.Time `json:"creationDate"`
	Modified     time.Time `json:"lastModifiedDate"`
}

// loadDimensions reads the dimensions from the store.
func (r *Registry) loadDimensions(db *store.DB) error {
	r.dimensions = map[string]*Dimension{}
	err := db.Scan(dimensionRecords, "", func(_ string, d []byte) error {
		return decodeInto(d, r.dimensions, func(x *Dimension) string { return x.Name })
	})
	if err != nil {
		return fmt.Errorf("load %s records: %w", dimensionRecords, err)
	}
	return nil
}

// checkDimensionValues checks a dimension's topic filters.
func checkDimensionValues(values []string) error {
	if len(values) == 0 || len(values) > MaxDimensionValues {
		return fail(ErrInvalid, "stringValues: 1 to %d topic filters, got %d", MaxDimensionValues, len(values))
	}
	for i, v := range values {
		if err := checkTopicFilter(v); err != nil {
			return fail(ErrInvalid, "stringValues[%d]: %v", i, err)
		}
	}
	return nil
}

// checkTopicFilter checks an MQTT topic filter of a dimension: 1 to 256
// bytes, no NUL, "+" and "#" alone in their level and "#" last, and
// ${iot:ClientId} only as a whole level.
func checkTopicFilter(f string) error {
	if f == "" || len(f) > MaxDimensionValueLength || strings.IndexByte(f, 0) >= 0 {
		return fmt.Errorf("%q must be a topic filter of 1 to %d bytes", f, MaxDimensionValueLength)
	}
	levels := strings.Split(f, "/")
	for i, lvl := range levels {
		switch {
		case lvl == "#" && i != len(levels)-1:
			return fmt.Errorf("%q: # must be the last level", f)
		case lvl != "#" && lvl != "+" && strings.ContainsAny(lvl, "+#"):
			return fmt.Errorf("%q: + and # must fill a whole level", f)
		case lvl != clientIDVariable && strings.Contains(lvl, "${"):
			return fmt.Errorf("%q: only %s is substituted, and as a whole level", f, clientIDVariable)
		}
	}
	return nil
}

// CreateDimension defines a dimension.
func (r *Registry) CreateDimension(b *store.Batch, now time.Time, d Dimension) (Dimension, error) {
	switch {
	case !detector.ValidName(d.Name):
		return Dimension{}, fail(ErrInvalid, "name: %q must be 1 to 128 of a-z A-Z 0-9 : _ -", d.Name)
	case d.Type != DimensionTopicFilter:
		return Dimension{}, fail(ErrInvalid, "type: %q is not %s", d.Type, DimensionTopicFilter)
	}
	if err := checkDimensionValues(d.StringValues); err != nil {
		return Dimension{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dimensions == nil {
		r.dimensions = map[string]*Dimension{}
	}
	if old := r.dimensions[d.Name]; old != nil {
		if slices.Equal(old.StringValues, d.StringValues) {
			return *old, nil // as AWS: the same create twice succeeds
		}
		return Dimension{}, fail(ErrExists, "dimension %q already exists", d.Name)
	}
	d.Created, d.Modified = now.UTC(), now.UTC()
	d.StringValues = slices.Clone(d.StringValues)
	r.dimensions[d.Name] = &d
	b.Put(dimensionRecords, d.Name, &d)
	return d, nil
}

// UpdateDimension replaces a dimension's topic filters.
func (r *Registry) UpdateDimension(b *store.Batch, now time.Time, name string, values []string) (Dimension, error) {
	if err := checkDimensionValues(values); err != nil {
		return Dimension{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.dimensions[name]
	if old == nil {
		return Dimension{}, fail(ErrNotFound, "dimension %q not found", name)
	}
	d := *old
	d.StringValues, d.Modified = slices.Clone(values), now.UTC()
	r.dimensions[name] = &d
	b.Put(dimensionRecords, name, &d)
	return d, nil
}

// DeleteDimension deletes a dimension no profile uses.
func (r *Registry) DeleteDimension(b *store.Batch, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dimensions[name] == nil {
		return fail(ErrNotFound, "dimension %q not found", name)
	}
	for _, pname := range slices.Sorted(maps.Keys(r.profiles)) {
		if slices.Contains(r.profiles[pname].Dimensions(), name) {
			return fail(ErrInUse, "dimension %q is used by security profile %q; remove it there first", name, pname)
		}
	}
	delete(r.dimensions, name)
	b.Delete(dimensionRecords, name)
	return nil
}

// Dimension returns a dimension.
func (r *Registry) Dimension(name string) (Dimension, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copyOf(r.dimensions, name)
}

// Dimensions lists the dimensions in name order.
func (r *Registry) Dimensions() []Dimension {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copiesByName(r.dimensions)
}

// DimensionsInUse lists, in name order, the dimensions that some profile's
// behaviors or retained metrics name: those whose messages must be counted.
func (r *Registry) DimensionsInUse() []Dimension {
	r.mu.RLock()
	defer r.mu.RUnlock()
	used := map[string]struct{}{}
	for _, p := range r.profiles {
		for _, d := range p.Dimensions() {
			used[d] = struct{}{}
		}
	}
	var out []Dimension
	for _, name := range slices.Sorted(maps.Keys(used)) {
		if d := r.dimensions[name]; d != nil {
			out = append(out, *d)
		}
	}
	return out
}

// Dimensions lists the names of the dimensions a profile's behaviors and
// retained metrics use, in name order without repeats.
func (p Profile) Dimensions() []string {
	var out []string
	for _, b := range p.Behaviors {
		if b.MetricDimension != nil {
			out = append(out, b.MetricDimension.DimensionName)
		}
	}
	for _, m := range p.AdditionalMetricsToRetainV2 {
		if m.MetricDimension != nil {
			out = append(out, m.MetricDimension.DimensionName)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// dimensionProblems checks that the dimensions a profile names exist, and
// that its retained metrics take the dimensions they are given.
func (r *Registry) dimensionProblems(p Profile) []detector.Problem {
	var problems []detector.Problem
	missing := func(field string, d *proto.MetricDimension) {
		if d == nil || !detector.ValidName(d.DimensionName) {
			return
		}
		if _, ok := r.Dimension(d.DimensionName); !ok {
			problems = append(problems, detector.Problem{Field: field + ".dimensionName",
				Message: fmt.Sprintf("dimension %q is not defined; create it with POST /api/dimensions/%s", d.DimensionName, d.DimensionName)})
		}
	}
	for i, b := range p.Behaviors {
		field := fmt.Sprintf("behaviors[%d]", i)
		if b.Name != "" {
			field = fmt.Sprintf("behaviors[%d](%s)", i, b.Name)
		}
		missing(field+".metricDimension", b.MetricDimension)
	}
	for i, m := range p.AdditionalMetricsToRetainV2 {
		field := fmt.Sprintf("additionalMetricsToRetainV2[%d].metricDimension", i)
		if m.MetricDimension != nil {
			problems = append(problems, detector.ValidateDimension(field, m.Metric, m.MetricDimension)...)
		}
		missing(field, m.MetricDimension)
	}
	return problems
}

// ValidateBehaviors checks behaviors as a profile's would be checked: their
// criteria, and that the dimensions they name exist.
func (r *Registry) ValidateBehaviors(behaviors []proto.Behavior) []detector.Problem {
	problems := detector.ValidateBehaviors(behaviors, r.MetricLookup)
	return append(problems, r.dimensionProblems(Profile{Behaviors: behaviors})...)
}
