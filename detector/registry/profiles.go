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

// MetricLookup resolves metric names against the aws: metrics and the
// defined custom metrics.
func (r *Registry) MetricLookup(name string) (detector.MetricInfo, bool) {
	if m, ok := detector.DeviceMetric(name); ok {
		return m, true
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if m := r.metrics[name]; m != nil {
		return detector.CustomMetric(name, m.Type), true
	}
	return detector.MetricInfo{}, false
}

// CustomMetricType returns the type of a defined custom metric.
func (r *Registry) CustomMetricType(name string) (proto.CustomMetricType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if m := r.metrics[name]; m != nil {
		return m.Type, true
	}
	return "", false
}

// ValidateProfile checks a profile's behaviors, alert targets and retained
// metrics, and returns every problem.
func (r *Registry) ValidateProfile(p Profile) []detector.Problem {
	var problems []detector.Problem
	if !detector.ValidName(p.Name) {
		problems = append(problems, detector.Problem{Field: "securityProfileName", Message: fmt.Sprintf("%q must be 1 to 128 of a-z A-Z 0-9 : _ -", p.Name)})
	}
	if len(p.Description) > 1000 {
		problems = append(problems, detector.Problem{Field: "securityProfileDescription", Message: "at most 1000 characters"})
	}
	problems = append(problems, detector.ValidateBehaviors(p.Behaviors, r.MetricLookup)...)
	problems = append(problems, r.dimensionProblems(p)...)
	for _, typ := range slices.Sorted(maps.Keys(p.AlertTargets)) {
		problems = append(problems, checkAlertTarget(typ, p.AlertTargets[typ])...)
	}
	for i, m := range p.AdditionalMetricsToRetainV2 {
		if _, ok := r.MetricLookup(m.Metric); !ok {
			problems = append(problems, detector.Problem{Field: fmt.Sprintf("additionalMetricsToRetainV2[%d].metric", i),
				Message: fmt.Sprintf("%q is neither a supported aws: metric nor a defined custom metric", m.Metric)})
		}
	}
	for i, m := range p.AdditionalMetricsToRetain {
		if _, ok := r.MetricLookup(m); !ok {
			problems = append(problems, detector.Problem{Field: fmt.Sprintf("additionalMetricsToRetain[%d]", i),
				Message: fmt.Sprintf("%q is neither a supported aws: metric nor a defined custom metric", m)})
		}
	}
	return problems
}

func checkAlertTarget(typ string, t AlertTarget) []detector.Problem {
	field := "alertTargets." + typ
	bad := func(sub, msg string) []detector.Problem {
		return []detector.Problem{{Field: field + sub, Message: msg}}
	}
	switch typ {
	case AlertMQTT:
		if err := checkAlertTopic(t.Topic); err != nil {
			return bad(".topic", err.Error())
		}
	case AlertWebhook:
		return checkWebhook(field, t)
	case AlertSNS:
		if t.AlertTargetArn == "" || t.RoleArn == "" {
			return bad("", "needs alertTargetArn and roleArn")
		}
	default:
		return bad("", "unknown alert target type (want MQTT, WEBHOOK or SNS)")
	}
	return nil
}

func checkPublishTopic(topic string) error {
	switch {
	case topic == "" || len(topic) > 512:
		return fmt.Errorf("must be a topic of 1 to 512 bytes")
	case slices.ContainsFunc([]byte(topic), func(c byte) bool { return c == '+' || c == '#' || c == 0 }):
		return fmt.Errorf("must not contain wildcards: %q", topic)
	}
	return nil
}

// problemsError turns validation problems into an ErrInvalid error naming
// each behavior and field.
func problemsError(problems []detector.Problem) error {
	return fail(ErrInvalid, "%s", detector.ProblemsError(problems).Error())
}

// CreateProfile stores a new profile at version 1.
func (r *Registry) CreateProfile(b *store.Batch, now time.Time, p Profile) (Profile, error) {
	if problems := r.ValidateProfile(p); len(problems) > 0 {
		return Profile{}, problemsError(problems)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.profiles[p.Name] != nil {
		return Profile{}, fail(ErrExists, "security profile %q already exists", p.Name)
	}
	p.Version, p.Created, p.Modified = 1, now.UTC(), now.UTC()
	if p.Behaviors == nil {
		p.Behaviors = []proto.Behavior{}
	}
	r.profiles[p.Name] = &p
	b.Put(store.Profiles, p.Name, &p)
	return p, nil
}

// UpdateProfile applies a patch and bumps the version.
func (r *Registry) UpdateProfile(b *store.Batch, now time.Time, name string, patch ProfilePatch) (Profile, error) {
	r.mu.RLock()
	old := r.profiles[name]
	r.mu.RUnlock()
	if old == nil {
		return Profile{}, fail(ErrNotFound, "security profile %q not found", name)
	}
	if patch.ExpectedVersion != nil && *patch.ExpectedVersion != old.Version {
		return Profile{}, fail(ErrVersionConflict, "security profile %q is at version %d, not %d", name, old.Version, *patch.ExpectedVersion)
	}
	p, err := applyPatch(*old, patch)
	if err != nil {
		return Profile{}, err
	}
	if problems := r.ValidateProfile(p); len(problems) > 0 {
		return Profile{}, problemsError(problems)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.profiles[name] != old {
		return Profile{}, fail(ErrVersionConflict, "security profile %q changed during the update; try again", name)
	}
	p.Version, p.Modified = old.Version+1, now.UTC()
	r.profiles[name] = &p
	b.Put(store.Profiles, name, &p)
	return p, nil
}

func applyPatch(p Profile, patch ProfilePatch) (Profile, error) {
	conflicts := []struct {
		set, del bool
		name     string
	}{
		{patch.Behaviors != nil, patch.DeleteBehaviors, "behaviors"},
		{patch.AlertTargets != nil, patch.DeleteAlertTargets, "alertTargets"},
		{patch.AdditionalMetricsToRetain != nil || patch.AdditionalMetricsToRetainV2 != nil, patch.DeleteAdditionalMetricsToRetain, "additionalMetricsToRetain"},
		{patch.MetricsExportConfig != nil, patch.DeleteMetricsExportConfig, "metricsExportConfig"},
	}
	for _, c := range conflicts {
		if c.set && c.del {
			return p, fail(ErrInvalid, "%s: given together with its delete flag", c.name)
		}
	}
	if patch.Description != nil {
		p.Description = *patch.Description
	}
	switch {
	case patch.Behaviors != nil:
		p.Behaviors = *patch.Behaviors
	case patch.DeleteBehaviors:
		p.Behaviors = []proto.Behavior{}
	}
	switch {
	case patch.AlertTargets != nil:
		p.AlertTargets = *patch.AlertTargets
	case patch.DeleteAlertTargets:
		p.AlertTargets = nil
	}
	if patch.AdditionalMetricsToRetain != nil {
		p.AdditionalMetricsToRetain = *patch.AdditionalMetricsToRetain
	}
	if patch.AdditionalMetricsToRetainV2 != nil {
		p.AdditionalMetricsToRetainV2 = *patch.AdditionalMetricsToRetainV2
	}
	if patch.DeleteAdditionalMetricsToRetain {
		p.AdditionalMetricsToRetain, p.AdditionalMetricsToRetainV2 = nil, nil
	}
	switch {
	case patch.MetricsExportConfig != nil:
		p.MetricsExportConfig = patch.MetricsExportConfig
	case patch.DeleteMetricsExportConfig:
		p.MetricsExportConfig = nil
	}
	return p, nil
}

// DeleteProfile deletes a profile and its targets.
func (r *Registry) DeleteProfile(b *store.Batch, name string, expectedVersion *int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.profiles[name]
	if p == nil {
		return fail(ErrNotFound, "security profile %q not found", name)
	}
	if expectedVersion != nil && *expectedVersion != p.Version {
		return fail(ErrVersionConflict, "security profile %q is at version %d, not %d", name, p.Version, *expectedVersion)
	}
	delete(r.profiles, name)
	delete(r.targets, name)
	b.Delete(store.Profiles, name)
	b.DeletePrefix(store.Targets, name+"\x00")
	r.changed()
	return nil
}

// Profile returns a profile.
func (r *Registry) Profile(name string) (Profile, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copyOf(r.profiles, name)
}

// Profiles lists the profiles in name order.
func (r *Registry) Profiles() []Profile {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copiesByName(r.profiles)
}

// RetainedMetrics lists the metrics a profile keeps history for: those of
// its behaviors and its additional metrics to retain, a metric narrowed by
// a dimension under its series name (detector.SeriesName).
func (p Profile) RetainedMetrics() []string {
	set := map[string]struct{}{}
	for _, b := range p.Behaviors {
		set[detector.SeriesName(b.Metric, b.MetricDimension)] = struct{}{}
		set[detector.BehaviorSeries(b)] = struct{}{}
	}
	for _, m := range p.AdditionalMetricsToRetainV2 {
		set[detector.SeriesName(m.Metric, m.MetricDimension)] = struct{}{}
	}
	for _, m := range p.AdditionalMetricsToRetain {
		set[m] = struct{}{}
	}
	return slices.Sorted(maps.Keys(set))
}

// CreateCustomMetric defines a custom metric.
func (r *Registry) CreateCustomMetric(b *store.Batch, now time.Time, m CustomMetric) (CustomMetric, error) {
	switch {
	case !proto.ValidCustomMetricName(m.Name) || strings.HasPrefix(m.Name, "vigil:"):
		return CustomMetric{}, fail(ErrInvalid, "metricName: %q must be 1 to 128 of a-z A-Z 0-9 : _ - and not start with aws: or vigil:", m.Name)
	case !m.Type.Valid():
		return CustomMetric{}, fail(ErrInvalid, "metricType: %q is not number, number-list, string-list or ip-address-list", m.Type)
	case len(m.DisplayName) > 128:
		return CustomMetric{}, fail(ErrInvalid, "displayName: at most 128 characters")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.metrics[m.Name] != nil {
		return CustomMetric{}, fail(ErrExists, "custom metric %q already exists", m.Name)
	}
	m.Created, m.Modified = now.UTC(), now.UTC()
	r.metrics[m.Name] = &m
	b.Put(store.CustomMetrics, m.Name, &m)
	return m, nil
}

// DeleteCustomMetric deletes a custom metric no profile uses.
func (r *Registry) DeleteCustomMetric(b *store.Batch, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.metrics[name] == nil {
		return fail(ErrNotFound, "custom metric %q not found", name)
	}
	for _, p := range r.profiles {
		if slices.Contains(p.RetainedMetrics(), name) {
			return fail(ErrInUse, "custom metric %q is used by security profile %q; remove it there first", name, p.Name)
		}
	}
	delete(r.metrics, name)
	b.Delete(store.CustomMetrics, name)
	return nil
}

// CustomMetric returns a custom metric.
func (r *Registry) CustomMetric(name string) (CustomMetric, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copyOf(r.metrics, name)
}

// CustomMetrics lists the custom metrics in name order.
func (r *Registry) CustomMetrics() []CustomMetric {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return copiesByName(r.metrics)
}
