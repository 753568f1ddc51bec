package service

import (
	"time"

	"github.com/vigil-iot/vigil/detector"
	"github.com/vigil-iot/vigil/proto"
)

// ingestState is what the service keeps per thing between reports.
type ingestState struct {
	LastReportID int64     `json:"lastReportId"`
	LastReport   time.Time `json:"lastReport"`
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
