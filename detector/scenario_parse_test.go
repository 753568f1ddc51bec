package detector

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-iot/vigil/proto"
)

// A scenario is a text file that drives one engine through time and lists
// the events every step must produce. One command per line; "#" starts a
// comment; indentation is for the reader only.
//
//	custom NAME TYPE                   declare a custom metric (number, number-list, string-list, ip-address-list)
//	profile NAME                       set a profile before the first step; its behavior lines follow
//	  behavior NAME METRIC OP VALUE [alarm=N] [clear=M] [duration=S] [suppress]
//	  behavior NAME METRIC OP STATISTIC [factor=F] [alarm=N] [clear=M] [duration=S] [suppress]
//	  behavior {"name":...}            the same, as the AWS JSON
//	cover THING... : PROFILE...|(none) the profiles that cover these things from here on (default: all, by name)
//	at OFFSET report THING METRIC=VALUE...
//	at OFFSET fleet THING... METRIC=VALUES...
//	at OFFSET tick
//	at OFFSET retarget THING: PROFILE...|(none)
//	at OFFSET remove THING
//	at OFFSET delete PROFILE
//	at OFFSET profile NAME             set (add or edit) a profile; its behavior lines follow
//	at OFFSET restart                  save every thing's state as JSON and restore it into a new engine
//	  expect TYPE THING PROFILE/BEHAVIOR [value=V] [time=OFFSET] [same-id|new-id] [suppressed]
//	         [threshold=T] [statistic=S] [population=N]
//
// OFFSET is a Go duration after scenarioBase; steps may go back in time, as
// they do when the time comes from report ids. VALUE is a number or a
// bracketed list without spaces: [22,80], [10.0.0.1,2001:db8::1], [].
// STATISTIC (p90) makes a statistical behavior instead of VALUE. Wherever
// things are listed, NAME[FIRST-LAST] stands for a range of them:
// d[01-10] is d01, d02, ... d10. A fleet step is one report of each of its
// things, in the order listed, at the step's time; VALUES is one value for
// all of them, or for a numeric metric a bracketed list of one value per
// thing.
//
// A step produces exactly the events of its expect lines, in order; a step
// without expect lines produces none. An event's time is the step's unless
// time= says otherwise (windows are evaluated as datapoints stamped with
// their end). same-id asks for the violation id of the alarm's previous
// in-alarm, new-id for a different one. An event is suppressed if and only if
// the line says suppressed. threshold=, statistic= and population= check
// the event's threshold; every event of a statistical behavior carries one
// with the behavior's statistic, and no other event does.

// scenarioBase is the time of offset 0, aligned to every window length.
var scenarioBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// scenario is a parsed scenario file.
type scenario struct {
	file    string
	customs map[string]MetricInfo
	steps   []*step
}

// step is one command of a scenario with the events it must produce.
type step struct {
	line     int
	text     string
	timed    bool
	at       time.Duration
	verb     string
	thing    string
	things   []string
	profiles []string
	dps      []Datapoint
	fleet    [][]Datapoint // the datapoints of each thing of a fleet step
	profile  *Profile
	expects  []expectation
}

// expectation is one expect line.
type expectation struct {
	line       int
	text       string
	typ        proto.EventType
	thing      string
	profile    string
	behavior   string
	value      string
	hasValue   bool
	at         time.Duration
	hasTime    bool
	sameID     bool
	newID      bool
	suppressed bool
	threshold  string
	statistic  string
	population string
}

// parser reads a scenario line by line.
type parser struct {
	sc   *scenario
	line int
	last *step // the step that behavior and expect lines attach to
}

func parseScenario(file, text string) (*scenario, error) {
	p := &parser{sc: &scenario{file: file, customs: map[string]MetricInfo{}}}
	for i, raw := range strings.Split(text, "\n") {
		p.line = i + 1
		fields := strings.Fields(stripComment(raw))
		if len(fields) == 0 {
			continue
		}
		if err := p.command(fields, strings.TrimSpace(stripComment(raw))); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, p.line, err)
		}
	}
	return p.sc, nil
}

// stripComment cuts a "#" that starts the line or follows a blank.
func stripComment(s string) string {
	for i := range len(s) {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}

func (p *parser) command(f []string, text string) error {
	switch f[0] {
	case "custom":
		return p.custom(f[1:])
	case "behavior":
		return p.behavior(text)
	case "expect":
		return p.expect(f[1:], text)
	case "at":
		if len(f) < 3 {
			return fmt.Errorf("want: at OFFSET COMMAND ...")
		}
		at, err := time.ParseDuration(f[1])
		if err != nil {
			return fmt.Errorf("offset %q: %w", f[1], err)
		}
		return p.step(&step{line: p.line, text: text, timed: true, at: at, verb: f[2]}, f[3:])
	case "profile", "cover":
		if f[0] == "profile" && p.timedSteps() {
			return fmt.Errorf("a profile after the first step needs a time: at OFFSET profile NAME")
		}
		return p.step(&step{line: p.line, text: text, verb: f[0]}, f[1:])
	}
	return fmt.Errorf("unknown command %q", f[0])
}

func (p *parser) timedSteps() bool {
	for _, s := range p.sc.steps {
		if s.timed {
			return true
		}
	}
	return false
}

func (p *parser) custom(f []string) error {
	if len(f) != 2 || !proto.CustomMetricType(f[1]).Valid() {
		return fmt.Errorf("want: custom NAME number|number-list|string-list|ip-address-list")
	}
	p.sc.customs[f[0]] = CustomMetric(f[0], proto.CustomMetricType(f[1]))
	return nil
}

// lookup resolves metric names the way the engine of the scenario does.
func (sc *scenario) lookup(name string) (MetricInfo, bool) {
	if m, ok := sc.customs[name]; ok {
		return m, true
	}
	return DeviceMetric(name)
}

func (p *parser) step(s *step, args []string) error {
	var err error
	switch s.verb {
	case "report":
		err = p.report(s, args)
	case "fleet":
		err = p.fleet(s, args)
	case "tick", "restart":
		err = wantArgs(args, 0)
	case "remove":
		if err = wantArgs(args, 1); err == nil {
			s.thing = args[0]
		}
	case "profile", "delete":
		if err = wantArgs(args, 1); err == nil {
			s.profile = &Profile{Name: args[0]}
		}
	case "retarget", "cover":
		s.things, s.profiles, err = splitCover(args)
	default:
		err = fmt.Errorf("unknown step %q", s.verb)
	}
	if err != nil {
		return err
	}
	p.sc.steps = append(p.sc.steps, s)
	p.last = s
	return nil
}

func wantArgs(args []string, n int) error {
	if len(args) != n {
		return fmt.Errorf("want %d argument(s), got %v", n, args)
	}
	return nil
}

// splitCover reads "THING...: PROFILE..." where "(none)" is the empty list.
func splitCover(args []string) (things, profiles []string, err error) {
	before, after, ok := strings.Cut(strings.Join(args, " "), ":")
	if things, err = expandThings(strings.Fields(before)); err != nil {
		return nil, nil, err
	}
	if !ok || len(things) == 0 {
		return nil, nil, fmt.Errorf("want: THING...: PROFILE... or THING...: (none)")
	}
	profiles = strings.Fields(after)
	if len(profiles) == 1 && profiles[0] == "(none)" {
		profiles = []string{}
	}
	return things, profiles, nil
}

// expandThings reads thing names, where NAME[FIRST-LAST] is a range.
func expandThings(specs []string) ([]string, error) {
	var out []string
	for _, spec := range specs {
		prefix, rest, isRange := strings.Cut(spec, "[")
		if !isRange {
			out = append(out, spec)
			continue
		}
		bounds, suffix, ok := strings.Cut(rest, "]")
		first, last, ok2 := strings.Cut(bounds, "-")
		from, err1 := strconv.Atoi(first)
		to, err2 := strconv.Atoi(last)
		if !ok || !ok2 || err1 != nil || err2 != nil || from > to {
			return nil, fmt.Errorf("%q: want a range like d[01-10]", spec)
		}
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("%s%0*d%s", prefix, len(first), i, suffix))
		}
	}
	return out, nil
}

// fleet reads THING... METRIC=VALUES...: the things come first, the
// metrics after them.
func (p *parser) fleet(s *step, args []string) error {
	i := slices.IndexFunc(args, func(a string) bool { return strings.Contains(a, "=") })
	if i < 1 {
		return fmt.Errorf("want: fleet THING... METRIC=VALUES...")
	}
	things, err := expandThings(args[:i])
	if err != nil {
		return err
	}
	s.things, s.fleet = things, make([][]Datapoint, len(things))
	for _, kv := range args[i:] {
		name, text, _ := strings.Cut(kv, "=")
		info, known := p.sc.lookup(name)
		if !known {
			return fmt.Errorf("%q: want METRIC=VALUES with a known metric", kv)
		}
		items := []string{text}
		if info.Kind.numeric() && strings.HasPrefix(text, "[") {
			if items, err = listItems(text); err != nil || len(items) != len(things) {
				return fmt.Errorf("%s: want one value or %d, got %q", name, len(things), text)
			}
		}
		for j := range things {
			v, err := parseValue(info.Kind, items[min(j, len(items)-1)])
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			s.fleet[j] = append(s.fleet[j], Datapoint{Metric: name, Value: v})
		}
	}
	return nil
}

func (p *parser) report(s *step, args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("want: report THING METRIC=VALUE...")
	}
	s.thing = args[0]
	for _, kv := range args[1:] {
		name, text, ok := strings.Cut(kv, "=")
		info, known := p.sc.lookup(name)
		if !ok || !known {
			return fmt.Errorf("%q: want METRIC=VALUE with a known metric", kv)
		}
		v, err := parseValue(info.Kind, text)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.dps = append(s.dps, Datapoint{Metric: name, Value: v})
	}
	return nil
}

// parseValue reads a datapoint value of the given kind.
func parseValue(kind ValueKind, text string) (Value, error) {
	v := Value{Kind: kind}
	if kind.numeric() {
		n, err := strconv.ParseFloat(text, 64)
		v.Number = n
		return v, err
	}
	items, err := listItems(text)
	for _, item := range items {
		switch kind {
		case KindPorts:
			var n uint64
			n, err = strconv.ParseUint(item, 10, 16)
			v.Ports = append(v.Ports, uint16(n))
		case KindIPs:
			var ip netip.Addr
			ip, err = netip.ParseAddr(item)
			v.IPs = append(v.IPs, ip)
		case KindNumbers:
			var n float64
			n, err = strconv.ParseFloat(item, 64)
			v.Numbers = append(v.Numbers, n)
		case KindStrings:
			v.Strings = append(v.Strings, item)
		}
		if err != nil {
			return v, err
		}
	}
	return v, err
}

// listItems splits "[a,b]" into its items; "[]" has none.
func listItems(text string) ([]string, error) {
	inner, ok := strings.CutPrefix(text, "[")
	inner, ok2 := strings.CutSuffix(inner, "]")
	if !ok || !ok2 {
		return nil, fmt.Errorf("%q: want a list like [a,b]", text)
	}
	if inner == "" {
		return nil, nil
	}
	return strings.Split(inner, ","), nil
}

func (p *parser) behavior(text string) error {
	s := p.last
	if s == nil || s.verb != "profile" || len(s.expects) > 0 {
		return fmt.Errorf("a behavior line must follow a profile line")
	}
	rest := strings.TrimSpace(strings.TrimPrefix(text, "behavior"))
	var b proto.Behavior
	var err error
	if strings.HasPrefix(rest, "{") {
		dec := json.NewDecoder(strings.NewReader(rest))
		dec.DisallowUnknownFields()
		err = dec.Decode(&b)
	} else {
		b, err = p.shortBehavior(strings.Fields(rest))
	}
	if err != nil {
		return fmt.Errorf("behavior: %w", err)
	}
	s.profile.Behaviors = append(s.profile.Behaviors, b)
	return nil
}

// shortBehavior reads NAME METRIC OP VALUE|STATISTIC [factor=F] [alarm=N]
// [clear=M] [duration=S] [suppress].
func (p *parser) shortBehavior(f []string) (proto.Behavior, error) {
	if len(f) < 4 {
		return proto.Behavior{}, fmt.Errorf("want NAME METRIC OP VALUE|STATISTIC [factor=F] [alarm=N] [clear=M] [duration=S] [suppress]")
	}
	info, ok := p.sc.lookup(f[1])
	if !ok {
		return proto.Behavior{}, fmt.Errorf("unknown metric %q", f[1])
	}
	b := proto.Behavior{Name: f[0], Metric: f[1], Criteria: &proto.BehaviorCriteria{ComparisonOperator: f[2]}}
	if strings.HasPrefix(f[3], "p") {
		b.Criteria.StatisticalThreshold = &proto.StatisticalThreshold{Statistic: f[3]}
	} else {
		mv, err := criteriaValue(info.Kind, f[3])
		if err != nil {
			return proto.Behavior{}, err
		}
		b.Criteria.Value = mv
	}
	for _, opt := range f[4:] {
		if err := behaviorOption(&b, opt); err != nil {
			return b, err
		}
	}
	return b, nil
}

func behaviorOption(b *proto.Behavior, opt string) error {
	if opt == "suppress" {
		yes := true
		b.SuppressAlerts = &yes
		return nil
	}
	key, text, _ := strings.Cut(opt, "=")
	if st := b.Criteria.StatisticalThreshold; key == "factor" && st != nil {
		f, err := strconv.ParseFloat(text, 64)
		st.Factor = &f
		return err
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return fmt.Errorf("option %q: want alarm=N, clear=M, duration=S, factor=F (statistical) or suppress", opt)
	}
	switch key {
	case "alarm":
		b.Criteria.ConsecutiveDatapointsToAlarm = &n
	case "clear":
		b.Criteria.ConsecutiveDatapointsToClear = &n
	case "duration":
		b.Criteria.DurationSeconds = &n
	default:
		return fmt.Errorf("unknown option %q", opt)
	}
	return nil
}

// criteriaValue reads a behavior's value in the field its metric kind uses.
func criteriaValue(kind ValueKind, text string) (*proto.MetricValue, error) {
	if kind == KindIPs { // CIDRs are not addresses: keep them as written
		items, err := listItems(text)
		return &proto.MetricValue{Cidrs: append([]string{}, items...)}, err
	}
	v, err := parseValue(kind, text)
	if err != nil {
		return nil, err
	}
	return v.MetricValue(), nil
}

func (p *parser) expect(f []string, text string) error {
	if p.last == nil || !p.last.timed {
		return fmt.Errorf("an expect line must follow an at line")
	}
	if len(f) < 3 {
		return fmt.Errorf("want: expect TYPE THING PROFILE/BEHAVIOR [value=V] [time=OFFSET] [same-id|new-id] [suppressed]")
	}
	e := expectation{line: p.line, text: text, typ: proto.EventType(f[0]), thing: f[1]}
	switch e.typ {
	case proto.InAlarm, proto.AlarmCleared, proto.AlarmInvalidated:
	default:
		return fmt.Errorf("unknown event type %q", f[0])
	}
	var ok bool
	if e.profile, e.behavior, ok = strings.Cut(f[2], "/"); !ok {
		return fmt.Errorf("%q: want PROFILE/BEHAVIOR", f[2])
	}
	for _, opt := range f[3:] {
		if err := e.option(opt); err != nil {
			return err
		}
	}
	p.last.expects = append(p.last.expects, e)
	return nil
}

func (e *expectation) option(opt string) error {
	key, text, _ := strings.Cut(opt, "=")
	var err error
	switch key {
	case "value":
		e.value, e.hasValue = text, true
	case "time":
		e.at, err = time.ParseDuration(text)
		e.hasTime = true
	case "same-id":
		e.sameID = true
	case "new-id":
		e.newID = true
	case "suppressed":
		e.suppressed = true
	case "threshold":
		e.threshold = text
	case "statistic":
		e.statistic = text
	case "population":
		e.population = text
	default:
		err = fmt.Errorf("unknown expect option %q", opt)
	}
	return err
}

// TestParseScenarioErrors checks that a mistake in a fixture is reported
// with its line rather than read as a step that expects no event.
func TestParseScenarioErrors(t *testing.T) {
	cases := map[string]string{
		"unknown command":              "profile p1\nwait 5m",
		"bad offset":                   "at 5 tick",
		"unknown step":                 "at 5m sleep",
		"expect before any step":       "profile p1\n  expect in-alarm t1 p1/out",
		"behavior without profile":     "at 0m tick\n  behavior out aws:all-bytes-out less-than 1",
		"unknown metric in report":     "at 0m report t1 aws:cpu=5",
		"value not a list":             "at 0m report t1 aws:listening-tcp-ports=22",
		"port out of range":            "at 0m report t1 aws:listening-tcp-ports=[70000]",
		"unknown event type":           "at 0m tick\n  expect in-alarms t1 p1/out",
		"alarm without behavior":       "at 0m tick\n  expect in-alarm t1 p1",
		"unknown expect option":        "at 0m tick\n  expect in-alarm t1 p1/out id=v1",
		"unknown behavior option":      "profile p1\n  behavior out aws:all-bytes-out less-than 1 alarms=2",
		"JSON with an unknown field":   "profile p1\n  behavior {\"name\":\"out\",\"metrik\":\"aws:all-bytes-out\"}",
		"untimed profile after a step": "at 0m tick\nprofile p1",
		"custom metric of no type":     "custom battery percent",
		"cover without profiles":       "cover t1",
		"bad thing range":              "cover d[10-01]: p1",
		"fleet without things":         "at 0m fleet aws:all-bytes-out=1",
		"fleet with too few values":    "at 0m fleet d[1-3] aws:all-bytes-out=[1,2]",
		"factor of a static behavior":  "profile p1\n  behavior out aws:all-bytes-out less-than 1 factor=2",
		"unknown threshold option":     "at 0m tick\n  expect in-alarm t1 p1/out thresh=5",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseScenario("x.txt", text)
			if err == nil || !strings.HasPrefix(err.Error(), "x.txt:") {
				t.Errorf("error %v, want one that starts with x.txt:LINE", err)
			}
		})
	}
}
