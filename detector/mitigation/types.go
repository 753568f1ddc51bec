package mitigation

import (
	"time"

	"github.com/vigil-iot/vigil/detector/store"
)

// The store kinds of the package.
const (
	// Quarantines holds the quarantined things, by thing name.
	Quarantines store.Kind = "quarantine"
	// Executions holds the actions taken, by time-ordered execution id.
	Executions store.Kind = "mitigation"
	// ProfileActions holds each profile's mitigations, by profile name.
	ProfileActions store.Kind = "profilemitigation"
)

// The action types, as Executions name them.
const (
	ActionQuarantine        = "QUARANTINE"
	ActionRelease           = "RELEASE_QUARANTINE"
	ActionAddThingsToGroups = "ADD_THINGS_TO_THING_GROUP"
)

// The outcomes of an Execution, as AWS names them.
const (
	Successful = "SUCCESSFUL"
	Failed     = "FAILED"
)

// Entry is a quarantined thing.
type Entry struct {
	Thing string `json:"thingName"`
	Group string `json:"thingGroupName"`
	Since int64  `json:"quarantineStartTime"` // epoch ms
	// Until is when the time box ends, epoch ms; 0 means until released.
	Until       int64  `json:"quarantineEndTime,omitempty"`
	ViolationID string `json:"violationId,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// ActionParams is one mitigation action, in AWS's actionParams shape: one
// member is set.
type ActionParams struct {
	Quarantine        *QuarantineParams        `json:"quarantineParams,omitempty"`
	AddThingsToGroups *AddThingsToGroupsParams `json:"addThingsToThingGroupParams,omitempty"`
}

// QuarantineParams is Vigil's quarantine action.
type QuarantineParams struct {
	// ThingGroupName is the quarantine group; DefaultQuarantineGroup when
	// empty.
	ThingGroupName string `json:"thingGroupName,omitempty"`
	// DurationSeconds is the time box; 0 keeps the thing quarantined until
	// released.
	DurationSeconds int64 `json:"durationSeconds,omitempty"`
}

// AddThingsToGroupsParams is AWS's ADD_THINGS_TO_THING_GROUP action.
type AddThingsToGroupsParams struct {
	ThingGroupNames []string `json:"thingGroupNames"`
	// OverrideDynamicGroups is accepted as AWS has it; Vigil has no dynamic
	// groups.
	OverrideDynamicGroups bool `json:"overrideDynamicGroups,omitempty"`
}

// BehaviorMitigation names the actions to take when a behavior of a
// profile goes in alarm.
type BehaviorMitigation struct {
	BehaviorName string         `json:"behaviorName"`
	Actions      []ActionParams `json:"actions"`
}

// ProfileMitigations are a profile's mitigations.
type ProfileMitigations struct {
	Profile   string               `json:"securityProfileName"`
	Behaviors []BehaviorMitigation `json:"behaviorMitigations"`
	Modified  time.Time            `json:"lastModifiedDate"`
}

// Execution is one action taken, as AWS's DetectMitigationActionExecution.
type Execution struct {
	ID          string `json:"executionId"`
	ViolationID string `json:"violationId,omitempty"`
	Thing       string `json:"thingName"`
	Profile     string `json:"securityProfileName,omitempty"`
	Behavior    string `json:"behaviorName,omitempty"`
	ActionType  string `json:"actionType"`
	Params      any    `json:"actionParams,omitempty"`
	Start       int64  `json:"executionStartDate"` // epoch ms
	End         int64  `json:"executionEndDate"`   // epoch ms
	Status      string `json:"status"`
	Message     string `json:"message,omitempty"`
}
