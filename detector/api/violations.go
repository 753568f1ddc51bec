package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-iot/vigil/detector/service"
	"github.com/vigil-iot/vigil/proto"
)

func (s *server) violationRoutes() {
	s.handle("GET /api/active-violations", s.listActiveViolations)
	s.handle("GET /api/violation-events", s.listViolationEvents)
	s.handle("POST /api/violations/verification-state/{violationId}", s.putVerificationState)
}

// activeViolationOut is an ActiveViolation with times in epoch seconds.
type activeViolationOut struct {
	ViolationID                  string                  `json:"violationId"`
	ThingName                    string                  `json:"thingName"`
	SecurityProfileName          string                  `json:"securityProfileName"`
	Behavior                     proto.Behavior          `json:"behavior"`
	LastViolationValue           *proto.MetricValue      `json:"lastViolationValue,omitempty"`
	ViolationEventAdditionalInfo *proto.AdditionalInfo   `json:"violationEventAdditionalInfo,omitempty"`
	VerificationState            proto.VerificationState `json:"verificationState,omitempty"`
	VerificationStateDescription string                  `json:"verificationStateDescription,omitempty"`
	LastViolationTime            epochSeconds            `json:"lastViolationTime"`
	ViolationStartTime           epochSeconds            `json:"violationStartTime"`
	StatisticalThreshold         *proto.ThresholdInfo    `json:"statisticalThreshold,omitempty"`
}

func toActiveOut(a proto.ActiveViolation) activeViolationOut {
	return activeViolationOut{
		ViolationID: a.ViolationID, ThingName: a.ThingName, SecurityProfileName: a.SecurityProfileName, Behavior: a.Behavior,
		LastViolationValue: a.LastViolationValue, ViolationEventAdditionalInfo: a.ViolationEventAdditionalInfo,
		VerificationState: a.VerificationState, VerificationStateDescription: a.VerificationStateDescription,
		LastViolationTime: epochSeconds(a.LastViolationTime), ViolationStartTime: epochSeconds(a.ViolationStartTime),
		StatisticalThreshold: a.StatisticalThreshold,
	}
}

// violationEventOut is a ViolationEvent with times in epoch seconds.
type violationEventOut struct {
	ViolationID                  string                  `json:"violationId"`
	ThingName                    string                  `json:"thingName"`
	SecurityProfileName          string                  `json:"securityProfileName"`
	Behavior                     proto.Behavior          `json:"behavior"`
	MetricValue                  *proto.MetricValue      `json:"metricValue,omitempty"`
	ViolationEventAdditionalInfo *proto.AdditionalInfo   `json:"violationEventAdditionalInfo,omitempty"`
	ViolationEventType           proto.EventType         `json:"violationEventType"`
	VerificationState            proto.VerificationState `json:"verificationState,omitempty"`
	VerificationStateDescription string                  `json:"verificationStateDescription,omitempty"`
	ViolationEventTime           epochSeconds            `json:"violationEventTime"`
	ViolationStartTime           epochSeconds            `json:"violationStartTime"`
	StatisticalThreshold         *proto.ThresholdInfo    `json:"statisticalThreshold,omitempty"`
}

func toEventOut(e proto.ViolationEvent) violationEventOut {
	return violationEventOut{
		ViolationID: e.ViolationID, ThingName: e.ThingName, SecurityProfileName: e.SecurityProfileName, Behavior: e.Behavior,
		MetricValue: e.MetricValue, ViolationEventAdditionalInfo: e.ViolationEventAdditionalInfo, ViolationEventType: e.ViolationEventType,
		VerificationState: e.VerificationState, VerificationStateDescription: e.VerificationStateDescription,
		ViolationEventTime: epochSeconds(e.ViolationEventTime), ViolationStartTime: epochSeconds(e.ViolationStartTime),
		StatisticalThreshold: e.StatisticalThreshold,
	}
}

// activeViolationsOut is ListActiveViolations' answer.
type activeViolationsOut struct {
	ActiveViolations []activeViolationOut `json:"activeViolations"`
	NextToken        string               `json:"nextToken,omitempty"`
}

// violationEventsOut is ListViolationEvents' answer.
type violationEventsOut struct {
	ViolationEvents []violationEventOut `json:"violationEvents"`
	NextToken       string              `json:"nextToken,omitempty"`
}

// criteriaTypes are the values of the behaviorCriteriaType filter.
var criteriaTypes = []string{"STATIC", "STATISTICAL", "MACHINE_LEARNING"}

// violationFilter reads the filters AWS's two violation listings share.
func violationFilter(r *http.Request) (service.ViolationFilter, error) {
	q := r.URL.Query()
	f := service.ViolationFilter{
		ThingName: q.Get("thingName"), SecurityProfileName: q.Get("securityProfileName"),
		BehaviorCriteriaType: q.Get("behaviorCriteriaType"), VerificationState: proto.VerificationState(q.Get("verificationState")),
	}
	if f.BehaviorCriteriaType != "" && !slices.Contains(criteriaTypes, f.BehaviorCriteriaType) {
		return f, invalid("behaviorCriteriaType: must be one of %s, got %q", strings.Join(criteriaTypes, ", "), f.BehaviorCriteriaType)
	}
	if f.VerificationState != "" && !f.VerificationState.Valid() {
		return f, invalid("verificationState: must be FALSE_POSITIVE, BENIGN_POSITIVE, TRUE_POSITIVE or UNKNOWN, got %q", f.VerificationState)
	}
	var err error
	f.ListSuppressedAlerts, err = boolParam(r, "listSuppressedAlerts")
	return f, err
}

// activeKey orders active violations for paging.
func activeKey(a service.ActiveRecord) string {
	return a.SecurityProfileName + "\x00" + a.ThingName + "\x00" + a.Behavior.Name + "\x00" + a.ViolationID
}

func (s *server) listActiveViolations(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "active-violations")
	if err != nil {
		return err
	}
	f, err := violationFilter(r)
	if err != nil {
		return err
	}
	active := s.svc.ActiveViolations(f)
	slices.SortFunc(active, func(a, b service.ActiveRecord) int { return strings.Compare(activeKey(a), activeKey(b)) })
	items, next := paginate(active, activeKey, p)
	out := activeViolationsOut{ActiveViolations: make([]activeViolationOut, 0, len(items)), NextToken: next}
	for _, a := range items {
		out.ActiveViolations = append(out.ActiveViolations, toActiveOut(a.ActiveViolation))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) listViolationEvents(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r, "violation-events")
	if err != nil {
		return err
	}
	start, end, err := timeRange(r)
	if err != nil {
		return err
	}
	f, err := violationFilter(r)
	if err != nil {
		return err
	}
	events, next, err := s.svc.ViolationEvents(start, end, f, p.after, p.max)
	if err != nil {
		return err
	}
	out := violationEventsOut{ViolationEvents: make([]violationEventOut, 0, len(events))}
	if next != "" {
		out.NextToken = p.token(next)
	}
	for _, e := range events {
		out.ViolationEvents = append(out.ViolationEvents, toEventOut(e.ViolationEvent))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// verificationBody is the body of PutVerificationStateOnViolation.
type verificationBody struct {
	// ViolationID is in AWS CLI input files; it must match the path.
	ViolationID                  *string                 `json:"violationId"`
	VerificationState            proto.VerificationState `json:"verificationState"`
	VerificationStateDescription string                  `json:"verificationStateDescription"`
}

func (s *server) putVerificationState(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("violationId")
	var body verificationBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := sameName("violationId", body.ViolationID, id); err != nil {
		return err
	}
	if body.VerificationState == "" {
		return invalid("verificationState: is required")
	}
	if err := s.svc.PutVerificationState(id, body.VerificationState, body.VerificationStateDescription); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}
