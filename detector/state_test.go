package detector

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// stateProfile alarms after 2 connection counts of 100 or more and clears
// after 2 below; it also sums bytes out over 5-minute windows.
const stateProfile = `[
	{"name":"conns","metric":"aws:num-established-tcp-connections","criteria":{"comparisonOperator":"less-than","value":{"count":100},"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":2}},
	{"name":"out","metric":"aws:all-bytes-out","criteria":{"comparisonOperator":"less-than-equals","value":{"count":1000},"durationSeconds":300}}
]`

// newTestEngine returns an engine with deterministic violation ids and the
// given profiles.
func newTestEngine(t *testing.T, profiles ...Profile) *Engine {
	t.Helper()
	n := 0
	e := New(Options{Lookup: testLookup, NewViolationID: func() string { n++; return "id" + strconv.Itoa(n) }})
	for _, p := range profiles {
		if _, err := e.SetProfile(scenarioBase, p); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func connsOut(conns, out float64) []Datapoint {
	return []Datapoint{
		{Metric: MetricNumEstablishedTCP, Value: Value{Kind: KindCount, Number: conns}},
		{Metric: MetricBytesOut, Value: Value{Kind: KindCount, Number: out}},
	}
}

// saved returns a thing's state as persistence would read it back.
func saved(t *testing.T, e *Engine, thing string) ThingState {
	t.Helper()
	s, ok := e.State(thing)
	if !ok {
		t.Fatalf("no state for %s", thing)
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back ThingState
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

func eventTypes(events []Event) string {
	var parts []string
	for _, ev := range events {
		parts = append(parts, string(ev.Type)+" "+ev.Profile+"/"+ev.Behavior.Name+" "+ev.ViolationID)
	}
	return strings.Join(parts, ", ")
}

func at(minutes int) time.Time { return scenarioBase.Add(time.Duration(minutes) * time.Minute) }

// TestStateRoundTrip saves a thing's state through JSON between every two
// reports and restores it into a new engine: the alarm goes on as if the
// engine had never stopped.
func TestStateRoundTrip(t *testing.T) {
	p := Profile{Name: "p1", Behaviors: behaviors(t, stateProfile)}
	e := newTestEngine(t, p)
	if got := e.Observe(at(0), "t1", []string{"p1"}, connsOut(150, 600)); len(got) != 0 {
		t.Fatalf("first violation: %s", eventTypes(got))
	}
	s := saved(t, e, "t1")
	want := ThingState{Thing: "t1", LastSeen: at(0), Alarms: []Alarm{
		{Profile: "p1", Behavior: "conns", Violations: 1, LastViolationTime: at(0), LastValue: &Value{Kind: KindCount, Number: 150}},
		{Profile: "p1", Behavior: "out", WindowOpen: true, WindowStart: at(0), WindowValue: 600},
	}}
	checkState(t, s, want)

	steps := []struct {
		at   int
		dps  []Datapoint
		want string
	}{
		{2, connsOut(150, 300)[1:], ""},                 // the window goes on: 900
		{5, connsOut(150, 10), "in-alarm p1/conns id1"}, // exactly one in-alarm: one violation before, one after
		{10, connsOut(50, 10), ""},                      // 1 compliant of 2
		{15, connsOut(50, 2000), "alarm-cleared p1/conns id1"},
		{20, connsOut(50, 0), "in-alarm p1/out id2"}, // 15m-20m: 2000
	}
	for _, st := range steps {
		fresh := newTestEngine(t, p)
		fresh.Restore(s)
		fresh.opts.NewViolationID = e.opts.NewViolationID // one counter across restarts
		if got := eventTypes(fresh.Observe(at(st.at), "t1", []string{"p1"}, st.dps)); got != st.want {
			t.Fatalf("at %dm after a restart: got %q, want %q", st.at, got, st.want)
		}
		s, e = saved(t, fresh, "t1"), fresh
	}
}

// checkState compares what persistence keeps of a state; Spec and
// Suppressed are not stored, Restore takes them from the profile.
func checkState(t *testing.T, got, want ThingState) {
	t.Helper()
	if got.Thing != want.Thing || !got.LastSeen.Equal(want.LastSeen) || len(got.Alarms) != len(want.Alarms) {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	for i, a := range got.Alarms {
		w := want.Alarms[i]
		if a.Profile != w.Profile || a.Behavior != w.Behavior || a.Fingerprint == "" || a.Violations != w.Violations ||
			a.Compliant != w.Compliant || a.Active != w.Active || a.ViolationID != w.ViolationID || !a.Start.Equal(w.Start) ||
			!a.LastViolationTime.Equal(w.LastViolationTime) || formatValue(a.LastValue) != formatValue(w.LastValue) ||
			a.WindowOpen != w.WindowOpen || !a.WindowStart.Equal(w.WindowStart) || a.WindowValue != w.WindowValue || a.Spec.Name != "" ||
			!a.PendingStart.Equal(w.PendingStart) || a.PendingValue != w.PendingValue || formatThreshold(a.LastThreshold) != formatThreshold(w.LastThreshold) {
			t.Errorf("alarm %d: %+v\nwant %+v", i, a, w)
		}
	}
}

// TestStateOfLiveEngine checks that State gives the events' behavior spec
// and suppression, which persistence does not store.
func TestStateOfLiveEngine(t *testing.T) {
	e := newTestEngine(t, Profile{Name: "p1", Behaviors: behaviors(t,
		`[{"name":"out","metric":"aws:all-bytes-out","suppressAlerts":true,`+okCriteria+`}]`)})
	e.Observe(at(0), "t1", []string{"p1"}, connsOut(0, 5000))
	s, ok := e.State("t1")
	if !ok || len(s.Alarms) != 1 || s.Alarms[0].Spec.Name != "out" || !s.Alarms[0].Suppressed || !s.Alarms[0].Active {
		t.Fatalf("state %+v", s)
	}
	if _, ok := e.State("t2"); ok {
		t.Error("state of a thing never seen")
	}
}

// TestRestoreDropsChangedBehaviors restores a state saved under profiles
// that changed while the engine was down: the alarms of a changed behavior
// and of a deleted profile are dropped, the unchanged one goes on.
func TestRestoreDropsChangedBehaviors(t *testing.T) {
	before := []Profile{
		{Name: "p1", Behaviors: behaviors(t, stateProfile)},
		{Name: "p2", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out",`+okCriteria+`}]`)},
	}
	e := newTestEngine(t, before...)
	e.Observe(at(0), "t1", []string{"p1", "p2"}, connsOut(150, 5000))
	if got := eventTypes(e.Observe(at(5), "t1", []string{"p1", "p2"}, connsOut(150, 5000))); got != "in-alarm p1/conns id2, in-alarm p1/out id3" {
		t.Fatalf("before: %s", got) // p2/out went in-alarm (id1) at 0m
	}
	s := saved(t, e, "t1")

	changed := behaviors(t, stateProfile)
	changed[0].Criteria.Value.Count = proto.Count(120) // conns changes; out does not
	fresh := newTestEngine(t, Profile{Name: "p1", Behaviors: changed})
	fresh.opts.NewViolationID = e.opts.NewViolationID // one counter across restarts
	fresh.Restore(s)
	got, _ := fresh.State("t1")
	if len(got.Alarms) != 1 || got.Alarms[0].Behavior != "out" || !got.Alarms[0].Active || got.Alarms[0].ViolationID != "id3" {
		t.Fatalf("restored %+v, want only p1/out in force with id3", got.Alarms)
	}
	// conns starts again from zero: two violations to alarm, with a new id.
	if got := eventTypes(fresh.Observe(at(10), "t1", []string{"p1"}, connsOut(150, 0)[:1])); got != "" {
		t.Errorf("first violation after restore: %s", got)
	}
	if got := eventTypes(fresh.Observe(at(15), "t1", []string{"p1"}, connsOut(150, 0))); got != "in-alarm p1/conns id4" {
		t.Errorf("second violation after restore: %s", got) // and 5m-10m summed 5000: out stays in alarm
	}
	if got := eventTypes(fresh.Observe(at(20), "t1", []string{"p1"}, connsOut(150, 0)[1:])); got != "alarm-cleared p1/out id3" {
		t.Errorf("out after restore: %s", got)
	}
	// A state restored before its profiles are set keeps nothing.
	empty := newTestEngine(t)
	empty.Restore(s)
	if got, ok := empty.State("t1"); !ok || len(got.Alarms) != 0 || !got.LastSeen.Equal(at(5)) {
		t.Errorf("restored without profiles: %+v", got)
	}
}

// TestTakeDirty checks that every change of a thing's state marks it, and
// that taking the set empties it.
func TestTakeDirty(t *testing.T) {
	p := Profile{Name: "p1", Behaviors: behaviors(t, stateProfile)}
	e := newTestEngine(t, p, Profile{Name: "p2", Behaviors: behaviors(t, `[{"name":"out","metric":"aws:all-bytes-out",`+okCriteria+`}]`)})
	both := []string{"p1", "p2"}
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"nothing yet", func() {}, nil},
		{"reports, in name order", func() {
			e.Observe(at(0), "t2", both, connsOut(150, 500))
			e.Observe(at(1), "t1", both, connsOut(50, 500))
		}, []string{"t1", "t2"}},
		{"taken", func() {}, nil},
		{"a tick with nothing due", func() { e.Tick(at(5)) }, nil},
		{"a tick that closes windows", func() { e.Tick(at(6)) }, []string{"t1", "t2"}},
		{"a retarget that drops nothing", func() { e.Retarget(at(7), "t1", both) }, nil},
		{"a retarget that drops state", func() { e.Retarget(at(7), "t1", []string{"p1"}) }, []string{"t1"}},
		{"a profile edit that keeps every behavior", func() { e.SetProfile(at(8), p) }, nil},
		{"a profile edit that drops a behavior", func() {
			e.SetProfile(at(8), Profile{Name: "p1", Behaviors: behaviors(t, stateProfile)[:1]})
		}, []string{"t1", "t2"}},
		{"a profile deleted", func() { e.DeleteProfile(at(9), "p2") }, []string{"t2"}},
		{"a thing removed", func() { e.RemoveThing(at(10), "t1") }, []string{"t1"}},
		{"an unknown thing removed", func() { e.RemoveThing(at(10), "t9") }, nil},
		{"a silent thing forgotten", func() { e.Tick(at(0).Add(DefaultSilenceTimeout + time.Second)) }, []string{"t2"}},
	}
	for _, st := range steps {
		st.do()
		if got := e.TakeDirty(); !slices.Equal(got, st.want) {
			t.Errorf("%s: dirty %v, want %v", st.name, got, st.want)
		}
	}
	if e.Things() != 0 || len(e.ThingNames()) != 0 {
		t.Errorf("things left: %v", e.ThingNames())
	}
}

// TestTakeDirtySkipsLastSeenOnly: a report that changes nothing but the
// thing's last-seen time does not make it dirty, until that time has moved
// a sixteenth of the silence timeout; Seen restores the exact time after a
// restart without making it dirty.
func TestTakeDirtySkipsLastSeenOnly(t *testing.T) {
	conns := `[{"name":"conns","metric":"aws:num-established-tcp-connections","criteria":{"comparisonOperator":"less-than","value":{"count":100},"consecutiveDatapointsToAlarm":2,"consecutiveDatapointsToClear":1}}]`
	e := newTestEngine(t, Profile{Name: "p1", Behaviors: behaviors(t, conns)})
	p1 := []string{"p1"}
	observe := func(minutes int, n float64) func() {
		return func() {
			e.Observe(at(minutes), "t1", p1, []Datapoint{{Metric: MetricNumEstablishedTCP, Value: Value{Kind: KindCount, Number: n}}})
		}
	}
	slack := int(DefaultSilenceTimeout / 16 / time.Minute)
	steps := []struct {
		name string
		do   func()
		want []string
	}{
		{"a new thing", observe(0, 5), []string{"t1"}},
		{"a compliant report", observe(5, 5), nil},
		{"another", observe(10, 6), nil},
		{"a first violation", observe(15, 500), []string{"t1"}},
		{"the streak broken", observe(20, 5), []string{"t1"}},
		{"compliant again", observe(25, 5), nil},
		{"two violations: in alarm", func() { observe(30, 500)(); observe(35, 500)() }, []string{"t1"}},
		{"cleared", observe(40, 5), []string{"t1"}},
		{"compliant, just short of the slack", observe(40+slack-1, 5), nil},
		{"compliant, a slack after the last save", observe(40+slack, 5), []string{"t1"}},
	}
	for _, st := range steps {
		st.do()
		if got := e.TakeDirty(); !slices.Equal(got, st.want) {
			t.Errorf("%s: dirty %v, want %v", st.name, got, st.want)
		}
	}

	saved, _ := e.State("t1")
	observe(50+slack, 5)()
	e.TakeDirty()
	restarted := newTestEngine(t, Profile{Name: "p1", Behaviors: behaviors(t, conns)})
	restarted.Restore(saved)
	restarted.Seen("t1", at(50+slack))
	restarted.Seen("t1", at(3)) // an earlier time changes nothing
	restarted.Seen("t9", at(3)) // nor does an unknown thing
	if got, _ := restarted.State("t1"); !got.LastSeen.Equal(at(50 + slack)) {
		t.Errorf("last seen after Seen: %v, want %v", got.LastSeen, at(50+slack))
	}
	if got := restarted.TakeDirty(); len(got) != 0 {
		t.Errorf("dirty after Restore and Seen: %v", got)
	}
	if restarted.Things() != 1 {
		t.Errorf("things after Seen of an unknown thing: %v", restarted.ThingNames())
	}
}
