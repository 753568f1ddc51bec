package detector

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"time"

	"github.com/vigil-iot/vigil/detector/percentile"
	"github.com/vigil-iot/vigil/proto"
)

// The comparison operators of behaviors.
const (
	OpLessThan          = "less-than"
	OpLessThanEquals    = "less-than-equals"
	OpGreaterThan       = "greater-than"
	OpGreaterThanEquals = "greater-than-equals"
	OpInCIDRSet         = "in-cidr-set"
	OpNotInCIDRSet      = "not-in-cidr-set"
	OpInPortSet         = "in-port-set"
	OpNotInPortSet      = "not-in-port-set"
	OpInSet             = "in-set"
	OpNotInSet          = "not-in-set"
)

// Defaults and limits of behavior criteria.
const (
	DefaultDatapoints = 1
	MaxDatapoints     = 10
	MinDuration       = 60 * time.Second
	MaxDuration       = 24 * time.Hour
	MaxBehaviors      = 100
	// DefaultStatisticalDuration is the window of a statistical behavior
	// without durationSeconds.
	DefaultStatisticalDuration = 300 * time.Second
)

// nameRE is the AWS pattern for behavior and profile names.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9:_-]{1,128}$`)

// ValidName reports whether s is a valid profile or behavior name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// operatorsFor lists the operators that apply to a kind of value.
func operatorsFor(k ValueKind) []string {
	switch k {
	case KindCount, KindNumber:
		return []string{OpLessThan, OpLessThanEquals, OpGreaterThan, OpGreaterThanEquals}
	case KindPorts:
		return []string{OpInPortSet, OpNotInPortSet}
	case KindIPs:
		return []string{OpInCIDRSet, OpNotInCIDRSet}
	}
	return []string{OpInSet, OpNotInSet}
}

// rule is a compiled behavior: what the engine evaluates.
type rule struct {
	spec    proto.Behavior
	profile string // set by the engine
	name    string
	metric  MetricInfo
	// series names the datapoints the rule evaluates: the metric's name,
	// or for a dimensioned metric its SeriesName.
	series    string
	op        string
	inSet     bool // the operator wants every element in the set (in-*-set)
	threshold float64
	ports     []uint16 // sorted
	prefixes  []netip.Prefix
	numbers   []float64 // sorted
	strings   map[string]struct{}
	duration  time.Duration
	toAlarm   int
	toClear   int
	suppress  bool
	// statistic names the percentile of a statistical behavior ("p90"), and
	// is empty for a static one; factor scales it into the threshold.
	statistic  string
	percentile float64
	factor     float64
	// populations are the statistical windows still open or awaiting their
	// statistic, in start order; the windows that start before closedBefore
	// (Unix nanoseconds) have been evaluated.
	populations  []*population
	closedBefore int64
	// fingerprint is the behavior's canonical JSON: a change of it resets
	// the behavior's alarms.
	fingerprint string
}

// fingerprint is a short digest of a behavior's canonical JSON.
func fingerprint(b proto.Behavior) string {
	data, _ := json.Marshal(b) // a Behavior always encodes
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// Problem is one thing wrong in a profile: the field at fault and why.
type Problem struct {
	Field   string
	Message string
}

// Error returns "field: message".
func (p Problem) Error() string { return p.Field + ": " + p.Message }

// compiler collects the problems of one behavior list.
type compiler struct {
	lookup   MetricLookup
	problems []Problem
}

func (c *compiler) addf(field, format string, args ...any) {
	c.problems = append(c.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// ValidateBehaviors checks behaviors and returns every problem, not only
// the first. lookup resolves metric names (nil: device-side metrics only).
func ValidateBehaviors(behaviors []proto.Behavior, lookup MetricLookup) []Problem {
	_, problems := compileBehaviors(behaviors, lookup)
	return problems
}

func compileBehaviors(behaviors []proto.Behavior, lookup MetricLookup) ([]*rule, []Problem) {
	if lookup == nil {
		lookup = DeviceMetricsOnly
	}
	c := &compiler{lookup: lookup}
	if len(behaviors) > MaxBehaviors {
		c.addf("behaviors", "a profile holds at most %d behaviors, got %d", MaxBehaviors, len(behaviors))
	}
	seen := map[string]int{}
	rules := make([]*rule, 0, len(behaviors))
	for i, b := range behaviors {
		field := fmt.Sprintf("behaviors[%d]", i)
		if b.Name != "" {
			field = fmt.Sprintf("behaviors[%d](%s)", i, b.Name)
		}
		if j, dup := seen[b.Name]; dup && b.Name != "" {
			c.addf(field+".name", "%q is also the name of behaviors[%d]", b.Name, j)
		}
		seen[b.Name] = i
		if r := c.behavior(field, b); r != nil {
			rules = append(rules, r)
		}
	}
	return rules, c.problems
}

func (c *compiler) behavior(field string, b proto.Behavior) *rule {
	before := len(c.problems)
	if !ValidName(b.Name) {
		c.addf(field+".name", "must be 1 to 128 characters of a-z A-Z 0-9 : _ -, got %q", b.Name)
	}
	info, ok := c.lookup(b.Metric)
	switch {
	case b.Metric == "":
		c.addf(field+".metric", "is required")
	case !ok:
		c.addf(field+".metric", "%q is neither a supported aws: metric nor a defined custom metric", b.Metric)
	}
	if b.Criteria == nil {
		c.addf(field+".criteria", "is required (to keep a metric without checking it, list it in additionalMetricsToRetainV2)")
		return nil
	}
	r := &rule{spec: b, name: b.Name, metric: info, suppress: b.SuppressAlerts != nil && *b.SuppressAlerts}
	c.dimension(field+".metricDimension", b.Metric, b.MetricDimension, ok)
	c.perMessage(field, b)
	r.series = BehaviorSeries(b)
	c.criteria(field+".criteria", b.Criteria, r, ok)
	if len(c.problems) > before {
		return nil
	}
	r.fingerprint = fingerprint(b)
	return r
}

// criteria checks a behavior's criteria. Without a known metric it still
// checks what does not depend on the metric, so that every problem is
// reported at once.
func (c *compiler) criteria(field string, cr *proto.BehaviorCriteria, r *rule, known bool) {
	if cr.MLDetectionConfig != nil {
		c.addf(field+".mlDetectionConfig", "machine-learning behaviors are not supported; use a static or statistical threshold")
		return
	}
	c.operator(field+".comparisonOperator", cr, r, known)
	r.toAlarm = c.datapoints(field+".consecutiveDatapointsToAlarm", cr.ConsecutiveDatapointsToAlarm)
	r.toClear = c.datapoints(field+".consecutiveDatapointsToClear", cr.ConsecutiveDatapointsToClear)
	c.duration(field+".durationSeconds", cr.DurationSeconds, r, known)
	switch {
	case cr.StatisticalThreshold != nil:
		c.statistical(field, cr, r, known)
	case cr.Value == nil:
		c.addf(field+".value", "is required for a static threshold")
	case known:
		c.value(field+".value", cr.Value, r)
	}
}

// operator checks the comparison operator against the metric's kind and
// the kind of threshold.
func (c *compiler) operator(field string, cr *proto.BehaviorCriteria, r *rule, known bool) {
	kind := r.metric.Kind
	r.op = cr.ComparisonOperator
	r.inSet = r.op == OpInPortSet || r.op == OpInCIDRSet || r.op == OpInSet
	statistical := cr.StatisticalThreshold != nil
	switch {
	case r.op == "":
		c.addf(field, "is required")
	case statistical && known && !kind.numeric():
		// reported once, on statisticalThreshold
	case statistical && !numericOperator(r.op):
		c.addf(field, "%q cannot compare with a statistical threshold; use one of %v", r.op, operatorsFor(KindCount))
	case known && !slices.Contains(operatorsFor(kind), r.op):
		c.addf(field, "%q does not apply to %s (a %s); use one of %v", r.op, r.metric.Name, kind, operatorsFor(kind))
	}
}

func numericOperator(op string) bool { return slices.Contains(operatorsFor(KindCount), op) }

// duration checks durationSeconds and compiles it into the window length.
func (c *compiler) duration(field string, seconds *int, r *rule, known bool) {
	if seconds == nil {
		return
	}
	d := time.Duration(*seconds) * time.Second
	switch {
	case known && !r.metric.Kind.numeric():
		c.addf(field, "cannot be used with %s, a list-based metric", r.metric.Name)
	case d < MinDuration || d > MaxDuration || d%time.Minute != 0:
		c.addf(field, "must be a whole number of minutes from %d to %d seconds (AWS uses 300, 600, 900, 1800 or 3600), got %d",
			int(MinDuration.Seconds()), int(MaxDuration.Seconds()), *seconds)
	}
	r.duration = d
}

// statistical checks and compiles a statistical threshold: a statistic of
// the population, scaled by the factor, replaces the value.
func (c *compiler) statistical(field string, cr *proto.BehaviorCriteria, r *rule, known bool) {
	st, sf := cr.StatisticalThreshold, field+".statisticalThreshold"
	if known && !r.metric.Kind.numeric() {
		c.addf(sf, "applies only to numeric metrics (counts and custom numbers); %s is a %s", r.metric.Name, r.metric.Kind)
	}
	if cr.Value != nil {
		c.addf(field+".value", "must be absent with a statistical threshold: the threshold comes from the statistic")
	}
	p, err := percentile.ParseStatistic(st.Statistic)
	if err != nil {
		c.addf(sf+".statistic", "%v", err)
	}
	r.statistic, r.percentile, r.factor = st.Statistic, p, 1
	if f := st.Factor; f != nil {
		if math.IsNaN(*f) || math.IsInf(*f, 0) || *f <= 0 {
			c.addf(sf+".factor", "must be a finite number above 0, got %v", *f)
		}
		r.factor = *f
	}
	if r.duration == 0 {
		r.duration = DefaultStatisticalDuration
	}
	if err == nil && r.factor >= 1 {
		c.selfCompared(sf+".statistic", r)
	}
}

// selfCompared refuses the behaviors that a device's own value decides: a
// device is part of its own population, so it is never above the p100 of
// that population nor below its p0.
func (c *compiler) selfCompared(field string, r *rule) {
	switch {
	case r.percentile == 100 && (r.op == OpLessThan || r.op == OpLessThanEquals):
		c.addf(field, "%s p100 with a factor of 1 or more compares each device with a threshold at or above the largest value "+
			"of its population, which includes the device itself: the behavior is never violated, or always violated by the "+
			"fleet's largest device whatever its value; use a lower statistic or a factor below 1", r.op)
	case r.percentile == 0 && (r.op == OpGreaterThan || r.op == OpGreaterThanEquals):
		c.addf(field, "%s p0 with a factor of 1 or more compares each device with a threshold at or below the smallest value "+
			"of its population, which includes the device itself: the behavior is never violated, or always violated by the "+
			"fleet's smallest device whatever its value; use a higher statistic or a factor below 1", r.op)
	}
}

func (c *compiler) datapoints(field string, n *int) int {
	if n == nil {
		return DefaultDatapoints
	}
	if *n < 1 || *n > MaxDatapoints {
		c.addf(field, "must be from 1 to %d, got %d", MaxDatapoints, *n)
	}
	return *n
}

// value checks that the behavior's value has exactly the field its metric
// needs, and compiles it.
func (c *compiler) value(field string, v *proto.MetricValue, r *rule) {
	want := map[ValueKind]string{KindCount: "count", KindNumber: "number", KindPorts: "ports", KindIPs: "cidrs", KindNumbers: "numbers", KindStrings: "strings"}[r.metric.Kind]
	present := presentValueFields(v)
	if len(present) != 1 || present[0] != want {
		c.addf(field, "must hold only %s for %s (a %s), got %v", want, r.metric.Name, r.metric.Kind, present)
		return
	}
	switch r.metric.Kind {
	case KindCount:
		r.threshold = float64(*v.Count)
	case KindNumber:
		if math.IsNaN(*v.Number) || math.IsInf(*v.Number, 0) {
			c.addf(field+".number", "must be a finite number")
		}
		r.threshold = *v.Number
	case KindPorts:
		r.ports = c.ports(field+".ports", v.Ports)
	case KindIPs:
		r.prefixes = c.cidrs(field+".cidrs", v.Cidrs)
	case KindNumbers:
		r.numbers = slices.Sorted(slices.Values(v.Numbers))
	case KindStrings:
		r.strings = make(map[string]struct{}, len(v.Strings))
		for _, s := range v.Strings {
			r.strings[s] = struct{}{}
		}
	}
}

func presentValueFields(v *proto.MetricValue) []string {
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, name)
		}
	}
	add(v.Count != nil, "count")
	add(v.Number != nil, "number")
	add(v.Ports != nil, "ports")
	add(v.Cidrs != nil, "cidrs")
	add(v.Numbers != nil, "numbers")
	add(v.Strings != nil, "strings")
	return out
}

func (c *compiler) ports(field string, ports []int) []uint16 {
	out := make([]uint16, 0, len(ports))
	for i, p := range ports {
		if p < 0 || p > 65535 {
			c.addf(fmt.Sprintf("%s[%d]", field, i), "must be a port from 0 to 65535, got %d", p)
			continue
		}
		out = append(out, uint16(p))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *compiler) cidrs(field string, cidrs []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(cidrs))
	for i, s := range cidrs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			ip, ipErr := netip.ParseAddr(s)
			if ipErr != nil {
				c.addf(fmt.Sprintf("%s[%d]", field, i), "must be a CIDR like 10.0.0.0/8 or an IP address, got %q", s)
				continue
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// violates reports whether a datapoint's value breaks the rule. A behavior
// describes normal behavior, so a datapoint violates it when the criteria do
// not hold. For sets, an in-set operator needs every element inside the set
// and a not-in-set operator needs every element outside it, so an empty set
// never violates.
func (r *rule) violates(v *Value) bool {
	if v.Kind.numeric() {
		return r.violatesAt(v.Number, r.threshold)
	}
	switch v.Kind {
	case KindPorts:
		return slices.ContainsFunc(v.Ports, func(p uint16) bool { return r.hasPort(p) != r.inSet })
	case KindIPs:
		return slices.ContainsFunc(v.IPs, func(ip netip.Addr) bool { return r.inCIDRs(ip) != r.inSet })
	case KindNumbers:
		return slices.ContainsFunc(v.Numbers, func(n float64) bool { return r.hasNumber(n) != r.inSet })
	case KindStrings:
		return slices.ContainsFunc(v.Strings, func(s string) bool { return r.hasString(s) != r.inSet })
	}
	return false
}

// violatesAt reports whether a number breaks the rule's comparison with a
// threshold.
func (r *rule) violatesAt(n, threshold float64) bool {
	switch r.op {
	case OpLessThan:
		return !(n < threshold)
	case OpLessThanEquals:
		return !(n <= threshold)
	case OpGreaterThan:
		return !(n > threshold)
	case OpGreaterThanEquals:
		return !(n >= threshold)
	}
	return false
}

// statistical reports whether the rule has a statistical threshold.
func (r *rule) statistical() bool { return r.statistic != "" }

// thresholdOf scales a statistic of the population into the rule's
// threshold: factor x statistic for less-than operators, statistic / factor
// for greater-than ones.
func (r *rule) thresholdOf(statistic float64) float64 {
	if r.op == OpLessThan || r.op == OpLessThanEquals {
		return statistic * r.factor
	}
	return statistic / r.factor
}

func (r *rule) hasPort(p uint16) bool {
	_, in := slices.BinarySearch(r.ports, p)
	return in
}

func (r *rule) hasNumber(n float64) bool {
	_, in := slices.BinarySearch(r.numbers, n)
	return in
}

func (r *rule) hasString(s string) bool {
	_, in := r.strings[s]
	return in
}

func (r *rule) inCIDRs(ip netip.Addr) bool {
	for _, p := range r.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
