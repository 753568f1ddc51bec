package api

import (
	"net/http"

	"github.com/vigil-iot/vigil/detector/mitigation"
)

func (s *server) mitigationRoutes() {
	if s.mitigation == nil {
		return
	}
	s.handle("PUT /api/things/{name}/quarantine", s.quarantine)
	s.handle("GET /api/things/{name}/quarantine", s.describeQuarantine)
	s.handle("DELETE /api/things/{name}/quarantine", s.release)
	s.handle("GET /api/quarantined-things", s.listQuarantines)
	s.handle("PUT /api/security-profiles/{name}/mitigations", s.putProfileMitigations)
	s.handle("GET /api/security-profiles/{name}/mitigations", s.getProfileMitigations)
	s.handle("DELETE /api/security-profiles/{name}/mitigations", s.deleteProfileMitigations)
	s.handle("GET /api/detect/mitigationactions/executions", s.listExecutions)
}

// quarantineBody is the body of PUT /api/things/{name}/quarantine.
type quarantineBody struct {
	ThingGroupName  string `json:"thingGroupName"`
	DurationSeconds int64  `json:"durationSeconds"`
	Reason          string `json:"reason"`
}

// quarantineOut is a quarantined thing.
type quarantineOut struct {
	ThingName      string        `json:"thingName"`
	ThingGroupName string        `json:"thingGroupName"`
	StartTime      epochSeconds  `json:"quarantineStartTime"`
	EndTime        *epochSeconds `json:"quarantineEndTime,omitempty"`
	ViolationID    string        `json:"violationId,omitempty"`
	Reason         string        `json:"reason,omitempty"`
}

func toQuarantineOut(e mitigation.Entry) quarantineOut {
	out := quarantineOut{ThingName: e.Thing, ThingGroupName: e.Group, StartTime: epochSeconds(e.Since),
		ViolationID: e.ViolationID, Reason: e.Reason}
	if e.Until > 0 {
		end := epochSeconds(e.Until)
		out.EndTime = &end
	}
	return out
}

func (s *server) quarantine(w http.ResponseWriter, r *http.Request) error {
	var body quarantineBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Reason) > 1000 {
		return invalid("reason: at most 1000 characters")
	}
	e, err := s.mitigation.Quarantine(mitigation.Request{Thing: r.PathValue("name"), Reason: body.Reason,
		QuarantineParams: mitigation.QuarantineParams{ThingGroupName: body.ThingGroupName, DurationSeconds: body.DurationSeconds}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toQuarantineOut(e))
	return nil
}

func (s *server) describeQuarantine(w http.ResponseWriter, r *http.Request) error {
	e, ok := s.mitigation.QuarantineOf(r.PathValue("name"))
	if !ok {
		return notFound("thing %q is not quarantined", r.PathValue("name"))
	}
	writeJSON(w, http.StatusOK, toQuarantineOut(e))
	return nil
}

func (s *server) release(w http.ResponseWriter, r *http.Request) error {
	e, err := s.mitigation.Release(r.PathValue("name"), "released by an operator")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toQuarantineOut(e))
	return nil
}

func (s *server) listQuarantines(w http.ResponseWriter, _ *http.Request) error {
	out := struct {
		Things []quarantineOut `json:"quarantinedThings"`
	}{Things: []quarantineOut{}}
	for _, e := range s.mitigation.Quarantines() {
		out.Things = append(out.Things, toQuarantineOut(e))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// profileMitigationsBody is the body of PUT
// /api/security-profiles/{name}/mitigations.
type profileMitigationsBody struct {
	BehaviorMitigations []mitigation.BehaviorMitigation `json:"behaviorMitigations"`
}

// profileMitigationsOut is a profile's mitigations.
type profileMitigationsOut struct {
	SecurityProfileName string                          `json:"securityProfileName"`
	BehaviorMitigations []mitigation.BehaviorMitigation `json:"behaviorMitigations"`
	LastModifiedDate    epochSeconds                    `json:"lastModifiedDate"`
}

func (s *server) putProfileMitigations(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	p, ok := s.reg.Profile(name)
	if !ok {
		return notFound("security profile %q not found", name)
	}
	var body profileMitigationsBody
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	behaviors := make([]string, 0, len(p.Behaviors))
	for _, b := range p.Behaviors {
		behaviors = append(behaviors, b.Name)
	}
	out, err := s.mitigation.SetProfileMitigations(mitigation.ProfileMitigations{Profile: name, Behaviors: body.BehaviorMitigations}, behaviors)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, profileMitigationsOut{name, nonNilSlice(out.Behaviors), secondsOf(out.Modified)})
	return nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *server) getProfileMitigations(w http.ResponseWriter, r *http.Request) error {
	p, ok := s.mitigation.ProfileMitigationsOf(r.PathValue("name"))
	if !ok {
		return notFound("security profile %q has no mitigations", r.PathValue("name"))
	}
	writeJSON(w, http.StatusOK, profileMitigationsOut{p.Profile, nonNilSlice(p.Behaviors), secondsOf(p.Modified)})
	return nil
}

func (s *server) deleteProfileMitigations(w http.ResponseWriter, r *http.Request) error {
	if err := s.mitigation.DeleteProfileMitigations(r.PathValue("name")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}

// executionOut is AWS's DetectMitigationActionExecution.
type executionOut struct {
	ExecutionID         string       `json:"executionId"`
	ViolationID         string       `json:"violationId,omitempty"`
	ThingName           string       `json:"thingName"`
	SecurityProfileName string       `json:"securityProfileName,omitempty"`
	BehaviorName        string       `json:"behaviorName,omitempty"`
	ActionName          string       `json:"actionName"`
	ActionParams        any          `json:"actionParams,omitempty"`
	ExecutionStartDate  epochSeconds `json:"executionStartDate"`
	ExecutionEndDate    epochSeconds `json:"executionEndDate"`
	Status              string       `json:"status"`
	Message             string       `json:"message,omitempty"`
}

// listExecutions is AWS's ListDetectMitigationActionsExecutions: the
// actions taken, by violationId or thingName, and startTime/endTime.
func (s *server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := mitigation.ExecutionFilter{ViolationID: q.Get("violationId"), Thing: q.Get("thingName")}
	var err error
	if q.Get("startTime") != "" {
		if f.Start, err = timeParam(r, "startTime"); err != nil {
			return err
		}
	}
	if q.Get("endTime") != "" {
		if f.End, err = timeParam(r, "endTime"); err != nil {
			return err
		}
	}
	p, err := pageOf(r, "executions")
	if err != nil {
		return err
	}
	xs, err := s.mitigation.Executions(f)
	if err != nil {
		return err
	}
	page, next := paginate(xs, func(x mitigation.Execution) string { return x.ID }, p)
	out := struct {
		Executions []executionOut `json:"actionsExecutions"`
		NextToken  string         `json:"nextToken,omitempty"`
	}{Executions: make([]executionOut, 0, len(page)), NextToken: next}
	for _, x := range page {
		out.Executions = append(out.Executions, executionOut{ExecutionID: x.ID, ViolationID: x.ViolationID, ThingName: x.Thing,
			SecurityProfileName: x.Profile, BehaviorName: x.Behavior, ActionName: x.ActionType, ActionParams: x.Params,
			ExecutionStartDate: epochSeconds(x.Start), ExecutionEndDate: epochSeconds(x.End), Status: x.Status, Message: x.Message})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
