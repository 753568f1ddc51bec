package proto

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// TestReplyJSONBytes checks the JSON replies byte for byte against the
// contract's examples (CONTRACT.md §1) and AWS's (reference §1.2): the
// field order is thingName, reportId, status, statusDetails, timestamp.
func TestReplyJSONBytes(t *testing.T) {
	rejectErr := &Error{Code: InvalidPayload, Field: "custom_metrics.my_custom_metric", Message: "must be a list"}
	for _, c := range []struct {
		name  string
		reply Reply
		want  string
	}{
		{"contract accepted", AcceptedReply("t1", 1530304554, 1700000000000),
			`{"thingName":"t1","reportId":1530304554,"status":"ACCEPTED","timestamp":1700000000000}`},
		{"contract rejected", RejectedReply("t1", 1530304554, 1700000000000, rejectErr),
			`{"thingName":"t1","reportId":1530304554,"status":"REJECTED","statusDetails":{"ErrorCode":"InvalidPayload","ErrorMessage":"custom_metrics.my_custom_metric: must be a list"},"timestamp":1700000000000}`},
		{"AWS accepted", AcceptedReply("myThing", 12334567, 1635801636023),
			`{"thingName":"myThing","reportId":12334567,"status":"ACCEPTED","timestamp":1635801636023}`},
		{"AWS rejected", Reply{ThingName: "myThing", ReportID: 12334567, Status: Rejected, Timestamp: 1635802047699,
			StatusDetails: &StatusDetails{ErrorCode: InvalidPayload, ErrorMessage: "Malformed metrics report"}},
			`{"thingName":"myThing","reportId":12334567,"status":"REJECTED","statusDetails":{"ErrorCode":"InvalidPayload","ErrorMessage":"Malformed metrics report"},"timestamp":1635802047699}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := EncodeReply(JSON, c.reply)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestRejectedReplyCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code ErrorCode
		msg  string
	}{
		{&Error{Code: InvalidReportID, Field: "header.report_id", Message: "is not greater than 7"}, InvalidReportID, "header.report_id: is not greater than 7"},
		{&Error{Code: Throttled, Field: "report", Message: "sooner than 5m0s"}, Throttled, "report: sooner than 5m0s"},
		{errors.New("broken"), InvalidPayload, "broken"},
	} {
		r := RejectedReply("t1", 9, 10, c.err)
		if r.Status != Rejected || r.StatusDetails == nil || r.StatusDetails.ErrorCode != c.code || r.StatusDetails.ErrorMessage != c.msg {
			t.Errorf("RejectedReply(%v) = %+v %+v", c.err, r, r.StatusDetails)
		}
	}
}

// TestReplyRoundTrip encodes replies in every format and decodes them
// back, and checks the key names the general-purpose decoders see.
func TestReplyRoundTrip(t *testing.T) {
	replies := []Reply{
		AcceptedReply("t1", 1530304554, 1700000000000),
		RejectedReply("温度计", 9223372036854775807, 1, &Error{Code: ReportTooLarge, Field: "report", Message: "too big"}),
	}
	for _, f := range Formats {
		for _, want := range replies {
			data, err := EncodeReply(f, want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeReply(f, data)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%v: got %+v, %v; want %+v", f, got, err, want)
			}
			keys := replyKeys(t, f, data)
			wantKeys := []string{"reportId", "status", "thingName", "timestamp"}
			if want.StatusDetails != nil {
				wantKeys = []string{"reportId", "status", "statusDetails", "thingName", "timestamp"}
			}
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("%v reply has keys %v, want %v", f, keys, wantKeys)
			}
		}
	}
}

// replyKeys decodes a reply with the format's general-purpose decoder and
// returns its keys, sorted.
func replyKeys(t *testing.T, f Format, data []byte) []string {
	t.Helper()
	var m map[string]any
	var err error
	switch f {
	case JSON:
		m = genericMap(t, data).(map[string]any)
	case CBOR:
		err = cbor.Unmarshal(data, &m)
	case MsgPack:
		err = msgpack.Unmarshal(data, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}

// TestDecodeReplyAWSExamples reads the replies as AWS prints them.
func TestDecodeReplyAWSExamples(t *testing.T) {
	r, err := DecodeReply(JSON, []byte(`{"thingName":"myThing","reportId":12334567,"status":"REJECTED",
 "statusDetails":{"ErrorCode":"InvalidPayload","ErrorMessage":"Malformed metrics report"},
 "timestamp":1635802047699}`))
	if err != nil || r.Status != Rejected || r.ReportID != 12334567 || r.StatusDetails.ErrorMessage != "Malformed metrics report" {
		t.Errorf("got %+v, %v", r, err)
	}
}

func TestDecodeReplyErrors(t *testing.T) {
	for _, c := range []struct {
		format Format
		data   string
	}{
		{JSON, `{"thingName":"t1","reportId":1,"status":"PENDING","timestamp":1}`},
		{JSON, `{"thingName":"t1","reportId":1,"timestamp":1}`},
		{JSON, `{"thingName":"t1",`},
		{JSON, `[]`},
		{CBOR, "\xff"},
		{MsgPack, "\xc1"},
		{Format(0), `{}`},
	} {
		if r, err := DecodeReply(c.format, []byte(c.data)); err == nil {
			t.Errorf("DecodeReply(%v, %q) = %+v, want an error", c.format, c.data, r)
		}
	}
	if _, err := EncodeReply(Format(0), Reply{}); err == nil {
		t.Error("EncodeReply accepted an unknown format")
	}
}
