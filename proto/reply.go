package proto

import (
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Status is the outcome of a report, as told in its reply.
type Status string

// The two report statuses.
const (
	Accepted Status = "ACCEPTED"
	Rejected Status = "REJECTED"
)

// Reply is the message a thing receives on its accepted or rejected topic
// after publishing a report.
type Reply struct {
	ThingName     string         `json:"thingName" cbor:"thingName" msgpack:"thingName"`
	ReportID      int64          `json:"reportId" cbor:"reportId" msgpack:"reportId"`
	Status        Status         `json:"status" cbor:"status" msgpack:"status"`
	StatusDetails *StatusDetails `json:"statusDetails,omitempty" cbor:"statusDetails,omitempty" msgpack:"statusDetails,omitempty"`
	// Timestamp is when the report was processed, in epoch milliseconds.
	Timestamp int64 `json:"timestamp" cbor:"timestamp" msgpack:"timestamp"`
}

// StatusDetails says why a report was rejected. Its keys are capitalised,
// as AWS IoT writes them.
type StatusDetails struct {
	ErrorCode    ErrorCode `json:"ErrorCode" cbor:"ErrorCode" msgpack:"ErrorCode"`
	ErrorMessage string    `json:"ErrorMessage" cbor:"ErrorMessage" msgpack:"ErrorMessage"`
}

// AcceptedReply builds the reply to an accepted report.
func AcceptedReply(thing string, reportID, timestampMs int64) Reply {
	return Reply{ThingName: thing, ReportID: reportID, Status: Accepted, Timestamp: timestampMs}
}

// RejectedReply builds the reply to a rejected report from the error that
// rejected it. An error that is not an *Error is sent as InvalidPayload.
func RejectedReply(thing string, reportID, timestampMs int64, err error) Reply {
	details := &StatusDetails{ErrorCode: InvalidPayload, ErrorMessage: err.Error()}
	if pe, ok := err.(*Error); ok {
		details.ErrorCode = pe.Code
	}
	return Reply{ThingName: thing, ReportID: reportID, Status: Rejected, StatusDetails: details, Timestamp: timestampMs}
}

// EncodeReply writes a reply in the format of the report it answers.
func EncodeReply(format Format, r Reply) ([]byte, error) {
	switch format {
	case JSON:
		return json.Marshal(r)
	case CBOR:
		return cbor.Marshal(r)
	case MsgPack:
		return msgpack.Marshal(r)
	}
	return nil, fmt.Errorf("encode reply: unknown format %v", format)
}

// DecodeReply reads a reply in the given format.
func DecodeReply(format Format, data []byte) (Reply, error) {
	var r Reply
	var err error
	switch format {
	case JSON:
		err = json.Unmarshal(data, &r)
	case CBOR:
		err = cbor.Unmarshal(data, &r)
	case MsgPack:
		err = msgpack.Unmarshal(data, &r)
	default:
		err = fmt.Errorf("unknown format %v", format)
	}
	if err != nil {
		return Reply{}, fmt.Errorf("decode %v reply: %w", format, err)
	}
	if r.Status != Accepted && r.Status != Rejected {
		return Reply{}, fmt.Errorf("decode %v reply: status %q is neither ACCEPTED nor REJECTED", format, r.Status)
	}
	return r, nil
}
