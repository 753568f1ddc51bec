package proto

import (
	"crypto/rand"
	"encoding/hex"
)

// Behavior is one behavior of a security profile, in the AWS shape: what a
// metric should look like on a healthy device.
type Behavior struct {
	Name            string            `json:"name"`
	Metric          string            `json:"metric,omitempty"`
	MetricDimension *MetricDimension  `json:"metricDimension,omitempty"`
	Criteria        *BehaviorCriteria `json:"criteria,omitempty"`
	// SuppressAlerts stops alert targets for this behavior; violations are
	// still recorded and published on the event topic.
	SuppressAlerts *bool `json:"suppressAlerts,omitempty"`
	ExportMetric   *bool `json:"exportMetric,omitempty"`
}

// MetricDimension narrows a broker-side metric to the topics of a dimension.
type MetricDimension struct {
	DimensionName string `json:"dimensionName"`
	// Operator is "IN" (the default when empty) or "NOT_IN".
	Operator string `json:"operator,omitempty"`
}

// BehaviorCriteria is the test a behavior applies to each datapoint.
type BehaviorCriteria struct {
	ComparisonOperator           string                `json:"comparisonOperator,omitempty"`
	Value                        *MetricValue          `json:"value,omitempty"`
	DurationSeconds              *int                  `json:"durationSeconds,omitempty"`
	ConsecutiveDatapointsToAlarm *int                  `json:"consecutiveDatapointsToAlarm,omitempty"`
	ConsecutiveDatapointsToClear *int                  `json:"consecutiveDatapointsToClear,omitempty"`
	StatisticalThreshold         *StatisticalThreshold `json:"statisticalThreshold,omitempty"`
	MLDetectionConfig            *MLDetectionConfig    `json:"mlDetectionConfig,omitempty"`
}

// StatisticalThreshold compares each device with a percentile of its peers.
type StatisticalThreshold struct {
	// Statistic is p0, p0.1, p0.01, p1, p10, p50, p90, p99, p99.9, p99.99 or
	// p100.
	Statistic string `json:"statistic,omitempty"`
	// Factor scales the statistic (Vigil only): the threshold is factor x
	// statistic for less-than operators and statistic / factor for
	// greater-than ones. Absent means 1.
	Factor *float64 `json:"factor,omitempty"`
}

// MLDetectionConfig is AWS's machine-learning criteria. Vigil reads and
// keeps it so that AWS profiles round-trip.
type MLDetectionConfig struct {
	ConfidenceLevel string `json:"confidenceLevel"`
}

// MetricValue is a behavior's value or a datapoint's value; one field is set
// according to the metric's type.
type MetricValue struct {
	Count   *uint64   `json:"count,omitempty"`
	Cidrs   []string  `json:"cidrs,omitempty"`
	Ports   []int     `json:"ports,omitempty"`
	Number  *float64  `json:"number,omitempty"`
	Numbers []float64 `json:"numbers,omitempty"`
	Strings []string  `json:"strings,omitempty"`
}

// EventType is the kind of a violation event.
type EventType string

// The violation event types.
const (
	InAlarm          EventType = "in-alarm"
	AlarmCleared     EventType = "alarm-cleared"
	AlarmInvalidated EventType = "alarm-invalidated"
)

// VerificationState is an operator's verdict on a violation.
type VerificationState string

// The verification states of AWS.
const (
	Unknown        VerificationState = "UNKNOWN"
	TruePositive   VerificationState = "TRUE_POSITIVE"
	BenignPositive VerificationState = "BENIGN_POSITIVE"
	FalsePositive  VerificationState = "FALSE_POSITIVE"
)

// Valid reports whether s is one of the four verification states.
func (s VerificationState) Valid() bool {
	switch s {
	case Unknown, TruePositive, BenignPositive, FalsePositive:
		return true
	}
	return false
}

// ThresholdInfo tells, for a statistical behavior, the threshold a datapoint
// was judged against and how many devices it was computed from.
type ThresholdInfo struct {
	Statistic  string  `json:"statistic"`
	Value      float64 `json:"value"`
	Population int     `json:"population"`
}

// AdditionalInfo carries AWS's extra event information.
type AdditionalInfo struct {
	ConfidenceLevel string `json:"confidenceLevel,omitempty"`
}

// ViolationEvent is one change in an alarm's life, published on
// $vigil/violations/{profile}/{thing}. Times are epoch milliseconds.
type ViolationEvent struct {
	ViolationID                  string            `json:"violationId"`
	ThingName                    string            `json:"thingName"`
	SecurityProfileName          string            `json:"securityProfileName"`
	Behavior                     Behavior          `json:"behavior"`
	MetricValue                  *MetricValue      `json:"metricValue,omitempty"`
	ViolationEventAdditionalInfo *AdditionalInfo   `json:"violationEventAdditionalInfo,omitempty"`
	ViolationEventType           EventType         `json:"violationEventType"`
	ViolationEventTime           int64             `json:"violationEventTime"`
	ViolationStartTime           int64             `json:"violationStartTime"`
	VerificationState            VerificationState `json:"verificationState,omitempty"`
	VerificationStateDescription string            `json:"verificationStateDescription,omitempty"`
	StatisticalThreshold         *ThresholdInfo    `json:"statisticalThreshold,omitempty"`
}

// ActiveViolation is an alarm in force, retained on
// $vigil/active-violations/{profile}/{thing}/{behavior}. Times are epoch
// milliseconds.
type ActiveViolation struct {
	ViolationID                  string            `json:"violationId"`
	ThingName                    string            `json:"thingName"`
	SecurityProfileName          string            `json:"securityProfileName"`
	Behavior                     Behavior          `json:"behavior"`
	LastViolationValue           *MetricValue      `json:"lastViolationValue,omitempty"`
	ViolationEventAdditionalInfo *AdditionalInfo   `json:"violationEventAdditionalInfo,omitempty"`
	VerificationState            VerificationState `json:"verificationState,omitempty"`
	VerificationStateDescription string            `json:"verificationStateDescription,omitempty"`
	LastViolationTime            int64             `json:"lastViolationTime"`
	ViolationStartTime           int64             `json:"violationStartTime"`
	StatisticalThreshold         *ThresholdInfo    `json:"statisticalThreshold,omitempty"`
}

// NewViolationID returns a fresh violation id: 32 lowercase hex digits.
func NewViolationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
