package registry_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/detector/registry"
	"github.com/vigil-iot/vigil/detector/store"
	"github.com/vigil-iot/vigil/proto"
)

func ptr[T any](v T) *T { return &v }

func (e *env) update(name string, patch registry.ProfilePatch) (registry.Profile, error) {
	e.t.Helper()
	var p registry.Profile
	err := e.try(func(b *store.Batch) error {
		var err error
		p, err = e.reg.UpdateProfile(b, t0.Add(time.Minute), name, patch)
		return err
	})
	return p, err
}

func (e *env) stored(name string) registry.Profile {
	e.t.Helper()
	var p registry.Profile
	if err := e.db.Get(store.Profiles, name, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestProfileVersions(t *testing.T) {
	e := newEnv(t)
	p := e.profile("p")
	if p.Version != 1 || !p.Created.Equal(t0) || !p.Modified.Equal(t0) {
		t.Fatalf("created profile: version %d, created %v, modified %v", p.Version, p.Created, p.Modified)
	}
	desc := "v2"
	tests := []struct {
		name     string
		expected *int64
		kind     error
		version  int64
	}{
		{"no expected version", nil, nil, 2},
		{"expected version matches", ptr[int64](2), nil, 3},
		{"expected version is old", ptr[int64](2), registry.ErrVersionConflict, 3},
		{"expected version is ahead", ptr[int64](9), registry.ErrVersionConflict, 3},
		{"no expected version again", nil, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.update("p", registry.ProfilePatch{Description: &desc, ExpectedVersion: tt.expected})
			wantKind(t, err, tt.kind)
			got, _ := e.reg.Profile("p")
			if got.Version != tt.version || e.stored("p").Version != tt.version {
				t.Errorf("version %d (stored %d), want %d", got.Version, e.stored("p").Version, tt.version)
			}
		})
	}
	got, _ := e.reg.Profile("p")
	if !got.Created.Equal(t0) || !got.Modified.Equal(t0.Add(time.Minute)) {
		t.Errorf("after updates: created %v, modified %v", got.Created, got.Modified)
	}
	_, err := e.update("nope", registry.ProfilePatch{Description: &desc})
	wantKind(t, err, registry.ErrNotFound)
}

func TestDeleteProfileVersion(t *testing.T) {
	e := newEnv(t)
	e.profile("p")
	e.attach("p", registry.AllThings)
	del := func(v *int64) error {
		return e.try(func(b *store.Batch) error { return e.reg.DeleteProfile(b, "p", v) })
	}
	wantKind(t, del(ptr[int64](2)), registry.ErrVersionConflict)
	if _, ok := e.reg.Profile("p"); !ok {
		t.Fatal("a refused delete removed the profile")
	}
	wantKind(t, del(ptr[int64](1)), nil)
	if _, ok := e.reg.Profile("p"); ok {
		t.Fatal("the profile is still there")
	}
	wantKind(t, del(nil), registry.ErrNotFound)
	if got := storedNames(t, e.db, store.Profiles); len(got) != 0 {
		t.Errorf("stored profiles %q", got)
	}
	if got := storedNames(t, e.db, store.Targets); len(got) != 0 {
		t.Errorf("stored targets of the deleted profile %q", got)
	}
	// A new profile of the same name starts again at version 1, unattached.
	if p := e.profile("p"); p.Version != 1 {
		t.Errorf("recreated profile at version %d", p.Version)
	}
	if got, _ := e.reg.TargetsOf("p"); len(got) != 0 {
		t.Errorf("the recreated profile is attached to %q", got)
	}
}

func TestCreateProfile(t *testing.T) {
	e := newEnv(t)
	e.profile("dup")
	tests := []struct {
		name string
		p    registry.Profile
		kind error
	}{
		{"exists", registry.Profile{Name: "dup"}, registry.ErrExists},
		{"bad name", registry.Profile{Name: "a b"}, registry.ErrInvalid},
		{"description too long", registry.Profile{Name: "x", Description: strings.Repeat("d", 1001)}, registry.ErrInvalid},
		{"unknown metric", registry.Profile{Name: "x", Behaviors: []proto.Behavior{countBehavior("b", "aws:nothing", 1)}}, registry.ErrInvalid},
		{"bad alert target", registry.Profile{Name: "x", AlertTargets: map[string]registry.AlertTarget{"MQTT": {Topic: "a/#"}}}, registry.ErrInvalid},
		{"bad webhook", registry.Profile{Name: "x", AlertTargets: map[string]registry.AlertTarget{"WEBHOOK": {URL: "ftp://h"}}}, registry.ErrInvalid},
		{"incomplete SNS", registry.Profile{Name: "x", AlertTargets: map[string]registry.AlertTarget{"SNS": {RoleArn: "r"}}}, registry.ErrInvalid},
		{"unknown alert target type", registry.Profile{Name: "x", AlertTargets: map[string]registry.AlertTarget{"SMS": {}}}, registry.ErrInvalid},
		{"unknown metric to retain", registry.Profile{Name: "x", AdditionalMetricsToRetainV2: []registry.MetricToRetain{{Metric: "nope"}}}, registry.ErrInvalid},
		{"unknown metric to retain, v1", registry.Profile{Name: "x", AdditionalMetricsToRetain: []string{"nope"}}, registry.ErrInvalid},
		{"no behaviors", registry.Profile{Name: "empty"}, nil},
		{"every alert target", registry.Profile{Name: "alerts", AlertTargets: map[string]registry.AlertTarget{
			"MQTT": {Topic: "alerts/a"}, "WEBHOOK": {URL: "https://example.com/hook", Secret: "sixteen-byte-key"}, "SNS": {AlertTargetArn: "a", RoleArn: "r"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.try(func(b *store.Batch) error {
				got, err := e.reg.CreateProfile(b, t0, tt.p)
				if err == nil && (got.Version != 1 || got.Behaviors == nil) {
					t.Errorf("created %+v", got)
				}
				return err
			})
			wantKind(t, err, tt.kind)
		})
	}
	if got := storedNames(t, e.db, store.Profiles); !slices.Equal(got, []string{"alerts", "dup", "empty"}) {
		t.Errorf("stored profiles %q", got)
	}
}

// full is a profile with every field a patch can change or delete.
func full() registry.Profile {
	return registry.Profile{
		Name: "p", Description: "first",
		Behaviors:                   []proto.Behavior{countBehavior("ports", "aws:num-listening-tcp-ports", 10)},
		AlertTargets:                map[string]registry.AlertTarget{"MQTT": {Topic: "alerts"}},
		AdditionalMetricsToRetain:   []string{"aws:all-bytes-out"},
		AdditionalMetricsToRetainV2: []registry.MetricToRetain{{Metric: "aws:all-bytes-in"}},
		MetricsExportConfig:         &registry.MetricsExportConfig{MQTTTopic: "export", RoleArn: "role"},
		Tags:                        []registry.Tag{{Key: "k", Value: "v"}},
	}
}

// TestProfilePatch applies one patch to the full profile and compares the
// result with the profile edited by hand.
func TestProfilePatch(t *testing.T) {
	newBehaviors := []proto.Behavior{countBehavior("conns", "aws:num-established-tcp-connections", 5)}
	tests := []struct {
		name  string
		patch registry.ProfilePatch
		edit  func(p *registry.Profile)
	}{
		{"nothing", registry.ProfilePatch{}, func(*registry.Profile) {}},
		{"description", registry.ProfilePatch{Description: ptr("second")}, func(p *registry.Profile) { p.Description = "second" }},
		{"behaviors", registry.ProfilePatch{Behaviors: &newBehaviors}, func(p *registry.Profile) { p.Behaviors = newBehaviors }},
		{"delete behaviors", registry.ProfilePatch{DeleteBehaviors: true}, func(p *registry.Profile) { p.Behaviors = []proto.Behavior{} }},
		{"alert targets", registry.ProfilePatch{AlertTargets: &map[string]registry.AlertTarget{"WEBHOOK": {URL: "http://h/x", Secret: "sixteen-byte-key"}}},
			func(p *registry.Profile) {
				p.AlertTargets = map[string]registry.AlertTarget{"WEBHOOK": {URL: "http://h/x", Secret: "sixteen-byte-key"}}
			}},
		{"delete alert targets", registry.ProfilePatch{DeleteAlertTargets: true}, func(p *registry.Profile) { p.AlertTargets = nil }},
		{"metrics to retain", registry.ProfilePatch{AdditionalMetricsToRetain: &[]string{"aws:all-packets-in"}},
			func(p *registry.Profile) { p.AdditionalMetricsToRetain = []string{"aws:all-packets-in"} }},
		{"metrics to retain v2", registry.ProfilePatch{AdditionalMetricsToRetainV2: &[]registry.MetricToRetain{{Metric: "aws:all-packets-out"}}},
			func(p *registry.Profile) {
				p.AdditionalMetricsToRetainV2 = []registry.MetricToRetain{{Metric: "aws:all-packets-out"}}
			}},
		// One flag clears both forms of the metrics to retain.
		{"delete metrics to retain", registry.ProfilePatch{DeleteAdditionalMetricsToRetain: true},
			func(p *registry.Profile) { p.AdditionalMetricsToRetain, p.AdditionalMetricsToRetainV2 = nil, nil }},
		{"metrics export config", registry.ProfilePatch{MetricsExportConfig: &registry.MetricsExportConfig{MQTTTopic: "x", RoleArn: "y"}},
			func(p *registry.Profile) {
				p.MetricsExportConfig = &registry.MetricsExportConfig{MQTTTopic: "x", RoleArn: "y"}
			}},
		{"delete metrics export config", registry.ProfilePatch{DeleteMetricsExportConfig: true}, func(p *registry.Profile) { p.MetricsExportConfig = nil }},
		{"every delete flag", registry.ProfilePatch{DeleteBehaviors: true, DeleteAlertTargets: true, DeleteAdditionalMetricsToRetain: true, DeleteMetricsExportConfig: true},
			func(p *registry.Profile) {
				p.Behaviors, p.AlertTargets, p.MetricsExportConfig = []proto.Behavior{}, nil, nil
				p.AdditionalMetricsToRetain, p.AdditionalMetricsToRetainV2 = nil, nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			created := e.mustCreate(full())
			got, err := e.update("p", tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			want := created
			tt.edit(&want)
			want.Version, want.Modified = 2, t0.Add(time.Minute)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("UpdateProfile = %+v\nwant %+v", got, want)
			}
			if inMemory, _ := e.reg.Profile("p"); !reflect.DeepEqual(inMemory, want) {
				t.Errorf("Profile(p) = %+v", inMemory)
			}
			e.reopen()
			if loaded, _ := e.reg.Profile("p"); !reflect.DeepEqual(loaded, want) {
				t.Errorf("loaded profile = %+v\nwant %+v", loaded, want)
			}
		})
	}
}

func (e *env) mustCreate(p registry.Profile) registry.Profile {
	e.t.Helper()
	var out registry.Profile
	e.must(func(b *store.Batch) error {
		var err error
		out, err = e.reg.CreateProfile(b, t0, p)
		return err
	})
	return out
}

// TestProfilePatchConflicts gives a field with its own delete flag: the
// update fails and changes nothing.
func TestProfilePatchConflicts(t *testing.T) {
	behaviors := []proto.Behavior{}
	tests := []struct {
		name  string
		patch registry.ProfilePatch
	}{
		{"behaviors", registry.ProfilePatch{Behaviors: &behaviors, DeleteBehaviors: true}},
		{"alert targets", registry.ProfilePatch{AlertTargets: &map[string]registry.AlertTarget{}, DeleteAlertTargets: true}},
		{"metrics to retain", registry.ProfilePatch{AdditionalMetricsToRetain: &[]string{}, DeleteAdditionalMetricsToRetain: true}},
		{"metrics to retain v2", registry.ProfilePatch{AdditionalMetricsToRetainV2: &[]registry.MetricToRetain{}, DeleteAdditionalMetricsToRetain: true}},
		{"metrics export config", registry.ProfilePatch{MetricsExportConfig: &registry.MetricsExportConfig{}, DeleteMetricsExportConfig: true}},
		// An invalid patch is refused as a whole as well.
		{"invalid behaviors", registry.ProfilePatch{Description: ptr("changed"), Behaviors: &[]proto.Behavior{countBehavior("x", "aws:nothing", 1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			created := e.mustCreate(full())
			_, err := e.update("p", tt.patch)
			wantKind(t, err, registry.ErrInvalid)
			if got, _ := e.reg.Profile("p"); !reflect.DeepEqual(got, created) {
				t.Errorf("the refused patch changed the profile: %+v", got)
			}
			if got := e.stored("p"); got.Version != 1 || got.Description != "first" {
				t.Errorf("the refused patch reached the store: %+v", got)
			}
		})
	}
}

func TestCustomMetrics(t *testing.T) {
	e := newEnv(t)
	create := func(m registry.CustomMetric) error {
		return e.try(func(b *store.Batch) error {
			got, err := e.reg.CreateCustomMetric(b, t0, m)
			if err == nil && (!got.Created.Equal(t0) || got.Type != m.Type) {
				t.Errorf("created %+v", got)
			}
			return err
		})
	}
	tests := []struct {
		name string
		m    registry.CustomMetric
		kind error
	}{
		{"number", registry.CustomMetric{Name: "temp", Type: proto.CustomNumber}, nil},
		{"number list", registry.CustomMetric{Name: "loads", Type: proto.CustomNumberList}, nil},
		{"string list", registry.CustomMetric{Name: "users", Type: proto.CustomStringList}, nil},
		{"ip list", registry.CustomMetric{Name: "peers", Type: proto.CustomIPList, DisplayName: "Peers"}, nil},
		// Its type never changes: defining it again, with any type, fails.
		{"again with another type", registry.CustomMetric{Name: "temp", Type: proto.CustomStringList}, registry.ErrExists},
		{"again with its type", registry.CustomMetric{Name: "temp", Type: proto.CustomNumber}, registry.ErrExists},
		{"unknown type", registry.CustomMetric{Name: "x", Type: "string"}, registry.ErrInvalid},
		{"no type", registry.CustomMetric{Name: "x"}, registry.ErrInvalid},
		{"aws: name", registry.CustomMetric{Name: "aws:x", Type: proto.CustomNumber}, registry.ErrInvalid},
		{"bad name", registry.CustomMetric{Name: "a b", Type: proto.CustomNumber}, registry.ErrInvalid},
		{"display name too long", registry.CustomMetric{Name: "x", Type: proto.CustomNumber, DisplayName: strings.Repeat("d", 129)}, registry.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, create(tt.m), tt.kind) })
	}
	if typ, ok := e.reg.CustomMetricType("temp"); !ok || typ != proto.CustomNumber {
		t.Errorf("CustomMetricType(temp) = %q, %v", typ, ok)
	}
	if _, ok := e.reg.CustomMetricType("x"); ok {
		t.Error("a refused metric is defined")
	}
	var names []string
	for _, m := range e.reg.CustomMetrics() {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"loads", "peers", "temp", "users"}) {
		t.Errorf("CustomMetrics = %q", names)
	}
	if info, ok := e.reg.MetricLookup("temp"); !ok || !info.Custom {
		t.Errorf("MetricLookup(temp) = %+v, %v", info, ok)
	}
	if _, ok := e.reg.MetricLookup("aws:all-bytes-out"); !ok {
		t.Error("MetricLookup does not know aws:all-bytes-out")
	}
	if _, ok := e.reg.MetricLookup("undefined"); ok {
		t.Error("MetricLookup knows an undefined metric")
	}
}

// TestCustomMetricBehaviorType checks behaviors on custom metrics against
// the metric's type.
func TestCustomMetricBehaviorType(t *testing.T) {
	e := newEnv(t)
	for name, typ := range map[string]proto.CustomMetricType{"temp": proto.CustomNumber, "users": proto.CustomStringList} {
		e.must(func(b *store.Batch) error {
			_, err := e.reg.CreateCustomMetric(b, t0, registry.CustomMetric{Name: name, Type: typ})
			return err
		})
	}
	users := proto.Behavior{Name: "users", Metric: "users", Criteria: &proto.BehaviorCriteria{
		ComparisonOperator: "in-set", Value: &proto.MetricValue{Strings: []string{"root"}}}}
	tests := []struct {
		name string
		b    proto.Behavior
		kind error
	}{
		{"number with a number", numberBehavior("b", "temp", 80), nil},
		{"strings with a set", users, nil},
		{"number with a count", countBehavior("b", "temp", 80), registry.ErrInvalid},
		{"strings with a number", numberBehavior("b", "users", 1), registry.ErrInvalid},
		{"undefined custom metric", numberBehavior("b", "pressure", 1), registry.ErrInvalid},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.try(func(b *store.Batch) error {
				_, err := e.reg.CreateProfile(b, t0, registry.Profile{Name: "p" + string(rune('0'+i)), Behaviors: []proto.Behavior{tt.b}})
				return err
			})
			wantKind(t, err, tt.kind)
		})
	}
}

// TestCustomMetricInUse checks each way a profile can use a custom metric:
// while it does, the metric cannot be deleted.
func TestCustomMetricInUse(t *testing.T) {
	tests := []struct {
		name    string
		profile registry.Profile
		release registry.ProfilePatch
	}{
		{"behavior", registry.Profile{Name: "p", Behaviors: []proto.Behavior{numberBehavior("hot", "temp", 80)}},
			registry.ProfilePatch{DeleteBehaviors: true}},
		{"metrics to retain v2", registry.Profile{Name: "p", AdditionalMetricsToRetainV2: []registry.MetricToRetain{{Metric: "temp"}}},
			registry.ProfilePatch{DeleteAdditionalMetricsToRetain: true}},
		{"metrics to retain", registry.Profile{Name: "p", AdditionalMetricsToRetain: []string{"temp"}},
			registry.ProfilePatch{AdditionalMetricsToRetain: &[]string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.must(func(b *store.Batch) error {
				_, err := e.reg.CreateCustomMetric(b, t0, registry.CustomMetric{Name: "temp", Type: proto.CustomNumber})
				return err
			})
			e.mustCreate(tt.profile)
			del := func() error {
				return e.try(func(b *store.Batch) error { return e.reg.DeleteCustomMetric(b, "temp") })
			}
			wantKind(t, del(), registry.ErrInUse)
			if _, ok := e.reg.CustomMetric("temp"); !ok {
				t.Fatal("a refused delete removed the metric")
			}
			if _, err := e.update("p", tt.release); err != nil {
				t.Fatal(err)
			}
			wantKind(t, del(), nil)
			if _, ok := e.reg.CustomMetric("temp"); ok {
				t.Error("the metric is still defined")
			}
			if got := storedNames(t, e.db, store.CustomMetrics); len(got) != 0 {
				t.Errorf("stored metrics %q", got)
			}
			wantKind(t, del(), registry.ErrNotFound)
		})
	}
}

func TestRetainedMetrics(t *testing.T) {
	p := full()
	p.AdditionalMetricsToRetain = append(p.AdditionalMetricsToRetain, "aws:num-listening-tcp-ports") // also a behavior's
	want := []string{"aws:all-bytes-in", "aws:all-bytes-out", "aws:num-listening-tcp-ports"}
	if got := p.RetainedMetrics(); !slices.Equal(got, want) {
		t.Errorf("RetainedMetrics = %q, want %q", got, want)
	}
}
