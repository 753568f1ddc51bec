package detector

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// TestScenarios runs every scenario of testdata/scenarios; the format is
// described in scenario_parse_test.go.
func TestScenarios(t *testing.T) {
	forEachScenario(t, func(t *testing.T, file, text string) { runScenario(t, file, text, false) })
}

// TestScenariosAcrossRestarts plays every scenario again, saving every
// thing's state as JSON and restoring it into a new engine before each
// step: a restart neither loses nor repeats an alarm, so the events do not
// change.
func TestScenariosAcrossRestarts(t *testing.T) {
	forEachScenario(t, func(t *testing.T, file, text string) { runScenario(t, file, text, true) })
}

func forEachScenario(t *testing.T, run func(t *testing.T, file, text string)) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario found: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			run(t, file, string(text))
		})
	}
}

// runScenario parses a scenario and plays it against a new engine,
// restarting the engine before each step if restarts is set.
func runScenario(t *testing.T, file, text string, restarts bool) {
	t.Helper()
	sc, err := parseScenario(file, text)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, sc: sc, now: scenarioBase, profiles: map[string]Profile{}, cover: map[string][]string{},
		things: map[string]bool{}, open: map[string]Event{}, lastInAlarm: map[string]string{}}
	r.engine = New(r.options())
	for _, s := range sc.steps {
		if restarts {
			r.restart(s)
		}
		r.play(s)
	}
}

// runner plays a scenario and keeps what it needs to check the events: the
// alarms it has seen open and the ids they used.
type runner struct {
	t           *testing.T
	sc          *scenario
	engine      *Engine
	now         time.Time
	ids         int
	profiles    map[string]Profile
	cover       map[string][]string
	things      map[string]bool
	open        map[string]Event  // in-alarm events of the alarms in force, by alarm key
	lastInAlarm map[string]string // the id of each alarm's latest in-alarm
}

// options gives every engine of a scenario the same lookup and one counter of
// violation ids, so that ids are deterministic and never reused.
func (r *runner) options() Options {
	return Options{Lookup: r.sc.lookup, NewViolationID: func() string {
		r.ids++
		return "v" + strconv.Itoa(r.ids)
	}}
}

func (r *runner) play(s *step) {
	if s.timed {
		r.now = scenarioBase.Add(s.at)
	}
	var got []Event
	switch s.verb {
	case "report":
		r.things[s.thing] = true
		got = r.engine.Observe(r.now, s.thing, r.covering(s.thing), s.dps)
	case "fleet":
		for i, th := range s.things {
			r.things[th] = true
			got = append(got, r.engine.Observe(r.now, th, r.covering(th), s.fleet[i])...)
		}
	case "tick":
		got = r.engine.Tick(r.now)
	case "cover":
		r.setCover(s.things, s.profiles)
	case "retarget":
		r.setCover(s.things, s.profiles)
		for _, th := range s.things {
			got = append(got, r.engine.Retarget(r.now, th, s.profiles)...)
		}
	case "remove":
		got = r.engine.RemoveThing(r.now, s.thing)
	case "delete":
		delete(r.profiles, s.profile.Name)
		got = r.engine.DeleteProfile(r.now, s.profile.Name)
	case "profile":
		got = r.setProfile(s)
	case "restart":
		r.restart(s)
	}
	r.check(s, got)
}

func (r *runner) setCover(things, profiles []string) {
	for _, th := range things {
		r.cover[th] = profiles
	}
}

// covering returns the profiles that cover a thing: those its last cover or
// retarget line named, else every profile, in name order.
func (r *runner) covering(thing string) []string {
	if c, ok := r.cover[thing]; ok {
		return c
	}
	return sortedKeys(r.profiles)
}

func (r *runner) setProfile(s *step) []Event {
	got, err := r.engine.SetProfile(r.now, *s.profile)
	if err != nil {
		r.t.Fatalf("%s:%d: %s: %v", r.sc.file, s.line, s.text, err)
	}
	r.profiles[s.profile.Name] = *s.profile
	return got
}

// restart saves the state of every thing through JSON, as persistence
// does, and restores it into a new engine with the same profiles.
func (r *runner) restart(s *step) {
	fresh := New(r.options())
	for _, name := range sortedKeys(r.profiles) {
		if _, err := fresh.SetProfile(r.now, r.profiles[name]); err != nil {
			r.t.Fatalf("%s:%d: restart: %v", r.sc.file, s.line, err)
		}
	}
	for _, thing := range sortedKeys(r.things) {
		state, ok := r.engine.State(thing)
		if !ok {
			continue
		}
		data, err := json.Marshal(state)
		if err != nil {
			r.t.Fatalf("%s:%d: restart: encode %s: %v", r.sc.file, s.line, thing, err)
		}
		var back ThingState
		if err := json.Unmarshal(data, &back); err != nil {
			r.t.Fatalf("%s:%d: restart: decode %s: %v", r.sc.file, s.line, thing, err)
		}
		fresh.Restore(back)
	}
	r.engine = fresh
}

// check compares a step's events with its expect lines and with the rules
// every event obeys, and stops the scenario at the first difference.
func (r *runner) check(s *step, got []Event) {
	var problems []string
	if len(got) != len(s.expects) {
		problems = append(problems, fmt.Sprintf("got %d events, want %d", len(got), len(s.expects)))
	}
	for i, ev := range got {
		if i < len(s.expects) {
			problems = append(problems, r.compare(i, ev, s.expects[i])...)
		}
		problems = append(problems, r.track(i, ev)...)
	}
	if len(problems) > 0 {
		r.t.Fatalf("%s:%d: %s\n%s\ngot:\n%swant:\n%s", r.sc.file, s.line, s.text,
			strings.Join(problems, "\n"), formatEvents(got), formatExpects(s.expects))
	}
}

// compare lists how event i differs from its expect line.
func (r *runner) compare(i int, ev Event, want expectation) []string {
	var out []string
	diff := func(field, got, wanted string) {
		if got != wanted {
			out = append(out, fmt.Sprintf("event %d (line %d): %s is %s, want %s", i+1, want.line, field, got, wanted))
		}
	}
	diff("type", string(ev.Type), string(want.typ))
	diff("thing", ev.Thing, want.thing)
	diff("alarm", ev.Profile+"/"+ev.Behavior.Name, want.profile+"/"+want.behavior)
	if want.hasValue {
		diff("value", formatValue(ev.Value), want.value)
	}
	at := r.now
	if want.hasTime {
		at = scenarioBase.Add(want.at)
	}
	diff("time", offset(ev.Time), offset(at))
	diff("suppressed", strconv.FormatBool(ev.Suppressed), strconv.FormatBool(want.suppressed))
	th := ev.Threshold
	if th == nil {
		th = &proto.ThresholdInfo{} // the check of track reports the missing threshold
	}
	if want.threshold != "" {
		diff("threshold", strconv.FormatFloat(th.Value, 'f', -1, 64), want.threshold)
	}
	if want.statistic != "" {
		diff("statistic", th.Statistic, want.statistic)
	}
	if want.population != "" {
		diff("population", strconv.Itoa(th.Population), want.population)
	}
	last := r.lastInAlarm[alarmName(ev)]
	if want.sameID && ev.ViolationID != last {
		out = append(out, fmt.Sprintf("event %d (line %d): violation id is %s, want the previous in-alarm's, %q", i+1, want.line, ev.ViolationID, last))
	}
	if want.newID && ev.ViolationID == last {
		out = append(out, fmt.Sprintf("event %d (line %d): violation id %s is the previous in-alarm's, want a new one", i+1, want.line, last))
	}
	return out
}

// track checks the life of alarms that holds for every event: in-alarm
// opens an alarm with a fresh id starting at its time; cleared and
// invalidated end the open alarm with its id and start time. An event
// carries a threshold if and only if its behavior is statistical, with the
// behavior's statistic.
func (r *runner) track(i int, ev Event) []string {
	key := alarmName(ev)
	opened, isOpen := r.open[key]
	problem := func(format string, args ...any) []string {
		return []string{fmt.Sprintf("event %d: %s: ", i+1, key) + fmt.Sprintf(format, args...)}
	}
	if st := ev.Behavior.Criteria.StatisticalThreshold; (st == nil) != (ev.Threshold == nil) ||
		st != nil && (ev.Threshold.Statistic != st.Statistic || ev.Threshold.Population < 1) {
		return problem("threshold %s for a behavior whose statisticalThreshold is %+v", formatThreshold(ev.Threshold), st)
	}
	if ev.Type == proto.InAlarm {
		r.open[key], r.lastInAlarm[key] = ev, ev.ViolationID
		switch {
		case isOpen:
			return problem("in-alarm while the alarm %s is in force", opened.ViolationID)
		case !ev.StartTime.Equal(ev.Time):
			return problem("in-alarm starts at %s, not at its time %s", offset(ev.StartTime), offset(ev.Time))
		}
		return nil
	}
	delete(r.open, key)
	switch {
	case !isOpen:
		return problem("%s of an alarm that is not in force", ev.Type)
	case ev.ViolationID != opened.ViolationID:
		return problem("%s has violation id %s, the alarm has %s", ev.Type, ev.ViolationID, opened.ViolationID)
	case !ev.StartTime.Equal(opened.Time):
		return problem("%s starts at %s, the alarm at %s", ev.Type, offset(ev.StartTime), offset(opened.Time))
	}
	return nil
}

func alarmName(ev Event) string { return ev.Thing + " " + ev.Profile + "/" + ev.Behavior.Name }

// offset writes a time as its offset from scenarioBase.
func offset(t time.Time) string { return t.Sub(scenarioBase).String() }

func formatEvents(events []Event) string {
	var b strings.Builder
	for _, ev := range events {
		fmt.Fprintf(&b, "  %s %s %s/%s value=%s time=%s id=%s", ev.Type, ev.Thing, ev.Profile, ev.Behavior.Name,
			formatValue(ev.Value), offset(ev.Time), ev.ViolationID)
		if ev.Threshold != nil {
			b.WriteString(" " + formatThreshold(ev.Threshold))
		}
		if ev.Suppressed {
			b.WriteString(" suppressed")
		}
		b.WriteString("\n")
	}
	if len(events) == 0 {
		b.WriteString("  (no event)\n")
	}
	return b.String()
}

func formatThreshold(th *proto.ThresholdInfo) string {
	if th == nil {
		return "(none)"
	}
	return fmt.Sprintf("threshold=%s statistic=%s population=%d", strconv.FormatFloat(th.Value, 'f', -1, 64), th.Statistic, th.Population)
}

func formatExpects(expects []expectation) string {
	var b strings.Builder
	for _, e := range expects {
		fmt.Fprintf(&b, "  %s  (line %d)\n", e.text, e.line)
	}
	if len(expects) == 0 {
		b.WriteString("  (no event)\n")
	}
	return b.String()
}

// formatValue writes a value as scenarios do: 5000, 20.5, [22,80], [].
func formatValue(v *Value) string {
	if v == nil {
		return "(none)"
	}
	if v.Kind.numeric() {
		return strconv.FormatFloat(v.Number, 'f', -1, 64)
	}
	var items []string
	for _, p := range v.Ports {
		items = append(items, strconv.Itoa(int(p)))
	}
	for _, ip := range v.IPs {
		items = append(items, ip.String())
	}
	for _, n := range v.Numbers {
		items = append(items, strconv.FormatFloat(n, 'f', -1, 64))
	}
	items = append(items, v.Strings...)
	return "[" + strings.Join(items, ",") + "]"
}

// TestAlarmClearMatrix runs the datapoints-to-alarm and -to-clear scenario
// for every pair of 1, 2, 3 and 10; the fixtures alarm-clear-N.txt hold the
// pairs N = M.
func TestAlarmClearMatrix(t *testing.T) {
	sizes := []int{1, 2, 3, 10}
	for _, n := range sizes {
		for _, m := range sizes {
			t.Run(fmt.Sprintf("alarm=%d,clear=%d", n, m), func(t *testing.T) {
				runScenario(t, fmt.Sprintf("matrix(alarm=%d,clear=%d)", n, m), alarmClearScenario(n, m), false)
			})
		}
	}
}

// alarmClearScenario writes the life of one alarm with n datapoints to
// alarm and m to clear, with a streak of each kind broken one short of its
// goal, reports 5 minutes apart. The behavior is "fewer than 100
// connections": 150 violates it, 50 complies.
func alarmClearScenario(n, m int) string {
	var b strings.Builder
	at := 0
	report := func(value int, expect ...string) {
		fmt.Fprintf(&b, "at %dm report t1 aws:num-established-tcp-connections=%d\n", at, value)
		for _, e := range expect {
			fmt.Fprintf(&b, "  expect %s\n", e)
		}
		at += 5
	}
	fmt.Fprintf(&b, "# %d violating datapoints in a row raise the alarm, %d compliant ones clear it;\n", n, m)
	b.WriteString("# a streak broken one short of its goal starts again from zero.\n")
	fmt.Fprintf(&b, "profile p1\n  behavior conns aws:num-established-tcp-connections less-than 100 alarm=%d clear=%d\n", n, m)
	b.WriteString("# violations one short of the goal, then a compliant datapoint\n")
	for range n - 1 {
		report(150)
	}
	report(50)
	b.WriteString("# the full streak\n")
	for range n - 1 {
		report(150)
	}
	report(150, "in-alarm t1 p1/conns value=150 new-id")
	b.WriteString("# compliant datapoints one short of the goal, then a violation\n")
	for range m - 1 {
		report(50)
	}
	report(150)
	b.WriteString("# the full streak\n")
	for range m - 1 {
		report(50)
	}
	report(50, "alarm-cleared t1 p1/conns value=50 same-id")
	b.WriteString("# a new alarm has a new id\n")
	for range n - 1 {
		report(150)
	}
	report(150, "in-alarm t1 p1/conns value=150 new-id")
	return b.String()
}
