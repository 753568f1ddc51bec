package proto

import "fmt"

// ErrorCode is a reason for rejecting a report, sent to the device in the
// rejected reply's statusDetails.ErrorCode.
type ErrorCode string

// The error codes of the contract.
const (
	// InvalidPayload: the report cannot be decoded, or a field has the wrong
	// shape, type or value. The message names the field.
	InvalidPayload ErrorCode = "InvalidPayload"
	// ReportTooLarge: the report is over the size limit.
	ReportTooLarge ErrorCode = "ReportTooLarge"
	// InvalidReportID: the report id is not greater than the last accepted one.
	InvalidReportID ErrorCode = "InvalidReportId"
	// Throttled: the report came sooner than the minimum interval allows.
	Throttled ErrorCode = "Throttled"
	// UnknownCustomMetric: the report names a custom metric that is not defined.
	UnknownCustomMetric ErrorCode = "UnknownCustomMetric"
	// CustomMetricTypeMismatch: a custom metric's value is not of its type.
	CustomMetricTypeMismatch ErrorCode = "CustomMetricTypeMismatch"
	// InvalidThingName: the thing name is too long, has control characters,
	// or names another thing where that is not allowed.
	InvalidThingName ErrorCode = "InvalidThingName"
)

// Error is a rejected report: a contract error code, the field at fault and
// what is wrong with it.
type Error struct {
	// Code is the contract error code.
	Code ErrorCode
	// Field is the path of the field at fault, as the device spelled it
	// ("metrics.network_stats.bytes_out", "cmet.temp[0].number"), or "report"
	// for the document as a whole.
	Field string
	// Message says what is wrong, in a few words.
	Message string
}

// Error returns "field: message".
func (e *Error) Error() string {
	return e.Field + ": " + e.Message
}

// errorf builds an *Error.
func errorf(code ErrorCode, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}
