package registry_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

func (e *env) dimension(name string, values ...string) error {
	e.t.Helper()
	return e.try(func(b *store.Batch) error {
		_, err := e.reg.CreateDimension(b, t0, registry.Dimension{Name: name, Type: registry.DimensionTopicFilter, StringValues: values})
		return err
	})
}

func TestDimensionValidation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, typ string
		values    []string
		field     string
	}{
		{"bad name", registry.DimensionTopicFilter, []string{"a"}, "name"},
		{"d", "CLIENT_ID", []string{"a"}, "type"},
		{"d", registry.DimensionTopicFilter, nil, "stringValues"},
		{"d", registry.DimensionTopicFilter, []string{"a/#/b"}, "stringValues[0]"},
		{"d", registry.DimensionTopicFilter, []string{"ok/+", "a+/b"}, "stringValues[1]"},
		{"d", registry.DimensionTopicFilter, []string{"a/${iot:ThingName}"}, "stringValues[0]"},
		{"d", registry.DimensionTopicFilter, []string{strings.Repeat("x", 257)}, "stringValues[0]"},
		{"d", registry.DimensionTopicFilter, make([]string, 101), "stringValues"},
	} {
		err := e.try(func(b *store.Batch) error {
			_, err := e.reg.CreateDimension(b, t0, registry.Dimension{Name: tc.name, Type: tc.typ, StringValues: tc.values})
			return err
		})
		wantKind(t, err, registry.ErrInvalid)
		if !strings.HasPrefix(err.Error(), tc.field+":") {
			t.Errorf("%s %v: error %q does not start with the field %s", tc.name, tc.values, err, tc.field)
		}
	}
}

// TestDimensionLifecycle creates, updates, uses and deletes a dimension,
// and finds it again after a restart.
func TestDimensionLifecycle(t *testing.T) {
	e := newEnv(t)
	if err := e.dimension("commands", "cmd/${iot:ClientId}/#"); err != nil {
		t.Fatal(err)
	}
	if err := e.dimension("commands", "cmd/${iot:ClientId}/#"); err != nil {
		t.Errorf("the same create twice: %v", err)
	}
	wantKind(t, e.dimension("commands", "other/#"), registry.ErrExists)
	e.must(func(b *store.Batch) error {
		_, err := e.reg.UpdateDimension(b, t0, "commands", []string{"cmd/+", "cmd/+/#"})
		return err
	})
	wantKind(t, e.try(func(b *store.Batch) error {
		_, err := e.reg.UpdateDimension(b, t0, "nothing", []string{"a"})
		return err
	}), registry.ErrNotFound)

	dim := &proto.MetricDimension{DimensionName: "commands", Operator: "NOT_IN"}
	sent := countBehavior("sent", "aws:num-messages-sent", 100)
	sent.MetricDimension = dim
	p := e.mustCreate(registry.Profile{Name: "p", Behaviors: []proto.Behavior{sent},
		AdditionalMetricsToRetainV2: []registry.MetricToRetain{{Metric: "aws:num-messages-received", MetricDimension: &proto.MetricDimension{DimensionName: "commands"}}}})
	if got, want := p.RetainedMetrics(), []string{"aws:num-messages-received/IN/commands", "aws:num-messages-sent/NOT_IN/commands"}; !slices.Equal(got, want) {
		t.Errorf("RetainedMetrics = %q, want %q", got, want)
	}
	if used := e.reg.DimensionsInUse(); len(used) != 1 || used[0].Name != "commands" {
		t.Errorf("DimensionsInUse = %+v", used)
	}
	wantKind(t, e.try(func(b *store.Batch) error { return e.reg.DeleteDimension(b, "commands") }), registry.ErrInUse)

	e.reopen()
	d, ok := e.reg.Dimension("commands")
	if !ok || !slices.Equal(d.StringValues, []string{"cmd/+", "cmd/+/#"}) || d.Type != registry.DimensionTopicFilter {
		t.Fatalf("after a restart: %+v, %v", d, ok)
	}
	e.must(func(b *store.Batch) error { return e.reg.DeleteProfile(b, "p", nil) })
	e.must(func(b *store.Batch) error { return e.reg.DeleteDimension(b, "commands") })
	if len(e.reg.Dimensions()) != 0 || len(storedNames(t, e.db, "dimension")) != 0 {
		t.Error("the dimension is still there")
	}
}

// TestProfileDimensionProblems names the field of each dimension a profile
// cannot use: undefined, or on a metric that takes none.
func TestProfileDimensionProblems(t *testing.T) {
	e := newEnv(t)
	if err := e.dimension("commands", "cmd/#"); err != nil {
		t.Fatal(err)
	}
	undefined := countBehavior("sent", "aws:num-messages-sent", 100)
	undefined.MetricDimension = &proto.MetricDimension{DimensionName: "nothing"}
	p := registry.Profile{Name: "p", Behaviors: []proto.Behavior{undefined},
		AdditionalMetricsToRetainV2: []registry.MetricToRetain{{Metric: "aws:all-bytes-out", MetricDimension: &proto.MetricDimension{DimensionName: "commands"}}}}
	var fields []string
	for _, pr := range e.reg.ValidateProfile(p) {
		fields = append(fields, pr.Field)
	}
	want := []string{"behaviors[0](sent).metricDimension.dimensionName", "additionalMetricsToRetainV2[0].metricDimension"}
	if !slices.Equal(fields, want) {
		t.Errorf("problems at %q, want %q", fields, want)
	}
}

// TestCustomMetricsLeaveVigilNames keeps vigil: for Vigil's own metrics,
// as aws: is kept for AWS's.
func TestCustomMetricsLeaveVigilNames(t *testing.T) {
	e := newEnv(t)
	err := e.try(func(b *store.Batch) error {
		_, err := e.reg.CreateCustomMetric(b, t0, registry.CustomMetric{Name: "vigil:report-silence", Type: proto.CustomNumber})
		return err
	})
	wantKind(t, err, registry.ErrInvalid)
}
