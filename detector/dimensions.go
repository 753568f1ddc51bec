package detector

import "github.com/vigil-iot/vigil/proto"

// The operators of a metric dimension.
const (
	DimensionIn    = "IN"
	DimensionNotIn = "NOT_IN"
)

// dimensionMetrics are the broker-side metrics a topic-filter dimension
// narrows: with IN, only the messages (or denied requests) whose topic
// matches one of the dimension's filters count; with NOT_IN, only those
// matching none.
var dimensionMetrics = []string{MetricMessagesSent, MetricMessagesReceived, MetricMessageByteSize, MetricAuthorizationFailures}

// DimensionMetric reports whether a metric takes a topic-filter dimension.
func DimensionMetric(metric string) bool {
	for _, m := range dimensionMetrics {
		if m == metric {
			return true
		}
	}
	return false
}

// DimensionOperator returns the operator of a dimension: IN when none is
// given.
func DimensionOperator(d *proto.MetricDimension) string {
	if d.Operator == "" {
		return DimensionIn
	}
	return d.Operator
}

// SeriesName names the datapoints of a metric narrowed by a dimension:
// "aws:num-messages-sent/IN/dimension" or ".../NOT_IN/dimension", and the
// metric's own name without one. Datapoints, the history and the fleet
// statistics know a dimensioned metric by this name.
func SeriesName(metric string, d *proto.MetricDimension) string {
	if d == nil {
		return metric
	}
	return metric + "/" + DimensionOperator(d) + "/" + d.DimensionName
}

// dimension checks a behavior's metric dimension and returns the name of
// the series the behavior evaluates.
func (c *compiler) dimension(field, metric string, d *proto.MetricDimension, known bool) string {
	if d == nil {
		return metric
	}
	if known && !DimensionMetric(metric) {
		c.addf(field, "dimensions apply only to %v, not to %s", dimensionMetrics, metric)
	}
	if !ValidName(d.DimensionName) {
		c.addf(field+".dimensionName", "must be 1 to 128 characters of a-z A-Z 0-9 : _ -, got %q", d.DimensionName)
	}
	if op := DimensionOperator(d); op != DimensionIn && op != DimensionNotIn {
		c.addf(field+".operator", "must be %s or %s, got %q", DimensionIn, DimensionNotIn, d.Operator)
	}
	return SeriesName(metric, d)
}

// ValidateDimension checks a metric dimension given outside a behavior (in
// additionalMetricsToRetainV2), for the metric it narrows.
func ValidateDimension(field, metric string, d *proto.MetricDimension) []Problem {
	c := &compiler{}
	c.dimension(field, metric, d, true)
	return c.problems
}

// The per-message series of aws:message-byte-size: the payload size of the
// largest and of the smallest message a thing sent in each window.
const (
	SeriesLargestMessage  = MetricMessageByteSize + "/largest"
	SeriesSmallestMessage = MetricMessageByteSize + "/smallest"
)

// BehaviorSeries names the series a behavior evaluates: SeriesName of its
// metric and dimension, except for a static aws:message-byte-size behavior
// without durationSeconds, which AWS evaluates per message. A window
// violates such a behavior exactly when one of its messages does, so it
// evaluates the largest message of each window against less-than and
// less-than-equals, and the smallest against greater-than and
// greater-than-equals.
func BehaviorSeries(b proto.Behavior) string {
	cr := b.Criteria
	if b.Metric != MetricMessageByteSize || b.MetricDimension != nil || cr == nil || cr.DurationSeconds != nil || cr.StatisticalThreshold != nil {
		return SeriesName(b.Metric, b.MetricDimension)
	}
	switch cr.ComparisonOperator {
	case OpGreaterThan, OpGreaterThanEquals:
		return SeriesSmallestMessage
	}
	return SeriesLargestMessage
}

// perMessage refuses a dimensioned aws:message-byte-size behavior
// evaluated per message: sizes are kept per window for the whole of a
// thing's messages only.
func (c *compiler) perMessage(field string, b proto.Behavior) {
	cr := b.Criteria
	if b.Metric == MetricMessageByteSize && b.MetricDimension != nil && cr != nil && cr.DurationSeconds == nil && cr.StatisticalThreshold == nil {
		c.addf(field+".criteria.durationSeconds", "is required for %s with a dimension: sizes per message are kept without dimensions", b.Metric)
	}
}
