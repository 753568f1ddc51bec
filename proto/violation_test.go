package proto

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"testing"
)

func TestNewViolationID(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewViolationID()
		if !hex32.MatchString(id) {
			t.Fatalf("NewViolationID() = %q, want 32 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewViolationID() repeated %q", id)
		}
		seen[id] = true
	}
}

func statisticalEvent() ViolationEvent {
	factor, three := 1.5, 3
	return ViolationEvent{
		ViolationID:         NewViolationID(),
		ThingName:           "t1",
		SecurityProfileName: "fleet",
		Behavior: Behavior{
			Name:   "BytesOutHigh",
			Metric: "aws:all-bytes-out",
			Criteria: &BehaviorCriteria{
				ComparisonOperator:           "greater-than",
				StatisticalThreshold:         &StatisticalThreshold{Statistic: "p90", Factor: &factor},
				DurationSeconds:              &three,
				ConsecutiveDatapointsToAlarm: &three,
			},
		},
		MetricValue:        &MetricValue{Count: Count(123456)},
		ViolationEventType: InAlarm,
		ViolationEventTime: 1700000300000,
		ViolationStartTime: 1700000000000,
		VerificationState:  Unknown,
		StatisticalThreshold: &ThresholdInfo{
			Statistic:  "p90",
			Value:      80000,
			Population: 120,
		},
	}
}

// TestViolationEventJSON checks the names of the event payload against
// the contract (CONTRACT.md §2), and that it reads back unchanged.
func TestViolationEventJSON(t *testing.T) {
	ev := statisticalEvent()
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "event", m, "violationId", "thingName", "securityProfileName", "behavior", "metricValue",
		"violationEventType", "violationEventTime", "violationStartTime", "verificationState", "statisticalThreshold")
	wantKeys(t, "statisticalThreshold", m["statisticalThreshold"].(map[string]any), "statistic", "value", "population")
	wantKeys(t, "behavior", m["behavior"].(map[string]any), "name", "metric", "criteria")
	wantKeys(t, "criteria", m["behavior"].(map[string]any)["criteria"].(map[string]any),
		"comparisonOperator", "statisticalThreshold", "durationSeconds", "consecutiveDatapointsToAlarm")
	wantKeys(t, "metricValue", m["metricValue"].(map[string]any), "count")
	if m["violationEventType"] != "in-alarm" || m["verificationState"] != "UNKNOWN" || m["violationEventTime"] != 1700000300000.0 {
		t.Errorf("event values: %s", data)
	}
	var back ViolationEvent
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, ev) {
		t.Errorf("read back %+v, %v; want %+v", back, err, ev)
	}
}

// TestViolationEventOmitsEmpty checks that a rules-based event carries no
// statistical or verification parts.
func TestViolationEventOmitsEmpty(t *testing.T) {
	ev := ViolationEvent{ViolationID: NewViolationID(), ThingName: "t1", SecurityProfileName: "p",
		Behavior: Behavior{Name: "b"}, ViolationEventType: AlarmCleared, ViolationEventTime: 2, ViolationStartTime: 1}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "event", m, "violationId", "thingName", "securityProfileName", "behavior", "violationEventType", "violationEventTime", "violationStartTime")
}

func TestActiveViolationJSON(t *testing.T) {
	av := ActiveViolation{
		ViolationID: NewViolationID(), ThingName: "t1", SecurityProfileName: "p", Behavior: Behavior{Name: "b"},
		LastViolationValue: &MetricValue{Ports: []int{22, 23}}, VerificationState: TruePositive,
		VerificationStateDescription: "confirmed", LastViolationTime: 5, ViolationStartTime: 4,
		StatisticalThreshold: &ThresholdInfo{Statistic: "p50", Value: 2, Population: 10},
	}
	data, err := json.Marshal(av)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, "active violation", m, "violationId", "thingName", "securityProfileName", "behavior", "lastViolationValue",
		"verificationState", "verificationStateDescription", "lastViolationTime", "violationStartTime", "statisticalThreshold")
	var back ActiveViolation
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, av) {
		t.Errorf("read back %+v, %v; want %+v", back, err, av)
	}
}

// TestBehaviorAWSShape reads a behavior as the AWS CLI writes it and checks
// that it is written back the same.
func TestBehaviorAWSShape(t *testing.T) {
	const in = `{"name":"TCPPortsListening","metric":"aws:num-listening-tcp-ports","metricDimension":{"dimensionName":"TopicFilter","operator":"NOT_IN"},` +
		`"criteria":{"comparisonOperator":"in-port-set","value":{"ports":[22,443]},"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":1},` +
		`"suppressAlerts":false,"exportMetric":true}`
	var b Behavior
	if err := json.Unmarshal([]byte(in), &b); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", out, in)
	}
}

func TestEventTypesAndStates(t *testing.T) {
	for ev, want := range map[EventType]string{InAlarm: "in-alarm", AlarmCleared: "alarm-cleared", AlarmInvalidated: "alarm-invalidated"} {
		if string(ev) != want {
			t.Errorf("%q, want %q", ev, want)
		}
	}
	for _, s := range []VerificationState{Unknown, TruePositive, BenignPositive, FalsePositive} {
		if !s.Valid() {
			t.Errorf("%q is not valid", s)
		}
	}
	for _, s := range []VerificationState{"", "unknown", "TRUE"} {
		if s.Valid() {
			t.Errorf("%q is valid", s)
		}
	}
}

func wantKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(keys)
	if !slices.Equal(got, keys) {
		t.Errorf("%s has keys %v, want %v", what, got, keys)
	}
}
