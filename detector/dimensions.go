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
