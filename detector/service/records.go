package service

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/proto"
)

// ingestState is what the service keeps per thing between reports.
type ingestState struct {
	LastReportID int64     `json:"lastReportId"`
	LastReport   time.Time `json:"lastReport"`
}

// ingestVersion is the first byte of an ingest state's binary form, which
// follows with the report id and the report time in Unix nanoseconds, as
// varints. The JSON form of earlier stores still decodes.
const ingestVersion = 1

func (st *ingestState) appendBinary(b []byte) []byte {
	b = append(b, ingestVersion)
	b = binary.AppendVarint(b, st.LastReportID)
	var ns int64
	if !st.LastReport.IsZero() {
		ns = st.LastReport.UnixNano()
	}
	return binary.AppendVarint(b, ns)
}

func decodeIngestState(data []byte) (*ingestState, error) {
	st := &ingestState{}
	if len(data) > 0 && data[0] == '{' {
		return st, json.Unmarshal(data, st)
	}
	if len(data) == 0 || data[0] != ingestVersion {
		return nil, errors.New("ingest state: unknown form")
	}
	id, n := binary.Varint(data[1:])
	if n <= 0 {
		return nil, errors.New("ingest state: bad report id")
	}
	ns, m := binary.Varint(data[1+n:])
	if m <= 0 || 1+n+m != len(data) {
		return nil, errors.New("ingest state: bad report time")
	}
	st.LastReportID = id
	if ns != 0 {
		st.LastReport = time.Unix(0, ns).UTC()
	}
	return st, nil
}

// ActiveRecord is a stored active violation.
type ActiveRecord struct {
	proto.ActiveViolation
	Suppressed bool `json:"suppressed,omitempty"`
}

// EventRecord is a stored violation event.
type EventRecord struct {
	proto.ViolationEvent
	Suppressed bool `json:"suppressed,omitempty"`
}

// verification is an operator's verdict on a violation.
type verification struct {
	State       proto.VerificationState `json:"verificationState"`
	Description string                  `json:"verificationStateDescription,omitempty"`
}

// violationIndex records that a violation exists, for lookups by id.
type violationIndex struct {
	Thing   string `json:"thing"`
	Profile string `json:"profile"`
	Start   int64  `json:"start"`
}

// outboxEntry is a message waiting to be published.
type outboxEntry struct {
	Topic   string `json:"topic"`
	Payload []byte `json:"payload"`
	Retain  bool   `json:"retain,omitempty"`
	QoS     byte   `json:"qos"`
}

// criteriaType is AWS's behaviorCriteriaType of a behavior.
func criteriaType(b proto.Behavior) string {
	switch {
	case b.Criteria == nil:
		return ""
	case b.Criteria.StatisticalThreshold != nil:
		return "STATISTICAL"
	case b.Criteria.MLDetectionConfig != nil:
		return "MACHINE_LEARNING"
	}
	return "STATIC"
}

func toEvent(ev detector.Event) proto.ViolationEvent {
	out := proto.ViolationEvent{
		ViolationID: ev.ViolationID, ThingName: ev.Thing, SecurityProfileName: ev.Profile, Behavior: ev.Behavior,
		ViolationEventType: ev.Type, ViolationEventTime: ev.Time.UnixMilli(), ViolationStartTime: ev.StartTime.UnixMilli(),
		VerificationState: proto.Unknown,
	}
	if ev.Value != nil {
		out.MetricValue = ev.Value.MetricValue()
	}
	if ev.Threshold != nil {
		t := *ev.Threshold
		out.StatisticalThreshold = &t
	}
	return out
}
