package main

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// verificationStates are the verdicts a violation can be given.
var verificationStates = []string{"TRUE_POSITIVE", "BENIGN_POSITIVE", "FALSE_POSITIVE", "UNKNOWN"}

const violationsLong = `violations lists violation events (in-alarm, alarm-cleared, alarm-invalidated) of the last
24 hours, or of the range --since, --start and --end give; with --active, the violations in alarm now.
Times are shown in UTC.`

func newViolationsCmd() *cobra.Command {
	cmd := adminCmd(adminSpec{
		use:   "violations",
		short: "List violations: events over a time range, or the alarms active now",
		long:  violationsLong,
		example: "  vigil violations --active\n" +
			"  vigil violations --thing cam-01 --since 7d\n" +
			"  vigil violations --profile cameras --start 2025-06-01T00:00:00Z --end 2025-06-02T00:00:00Z",
		args: cobra.NoArgs,
		flags: func(f *pflag.FlagSet) {
			f.Bool("active", false, "list the violations in alarm now instead of events")
			f.String("thing", "", "only the violations of this thing")
			f.String("profile", "", "only the violations of this security profile")
			addTimeRangeFlags(f, 24*time.Hour)
		},
		run: func(s *session, _ []string) error { return s.listViolations(time.Now()) },
	})
	cmd.AddCommand(newViolationsVerifyCmd())
	return cmd
}

func (s *session) listViolations(now time.Time) error {
	f := s.cmd.Flags()
	q := url.Values{}
	if t := mustString(f, "thing"); t != "" {
		q.Set("thingName", t)
	}
	if p := mustString(f, "profile"); p != "" {
		q.Set("securityProfileName", p)
	}
	path, key := "/api/active-violations", "activeViolations"
	if active, _ := f.GetBool("active"); active {
		if f.Changed("since") || f.Changed("start") || f.Changed("end") {
			return usageErrorf("--active lists the violations in alarm now: it takes no --since, --start or --end")
		}
	} else {
		start, end, err := timeRange(f, now)
		if err != nil {
			return err
		}
		q.Set("startTime", epochParam(start))
		q.Set("endTime", epochParam(end))
		path, key = "/api/violation-events", "violationEvents"
	}
	l, err := s.api.listAll(s.ctx(), path, q, key)
	if err != nil || s.json {
		return s.answer(l.json(), err)
	}
	return s.violationTable(l)
}

// violationTable shows events and active violations alike; an active
// violation is shown as in-alarm at the time it was last seen.
func (s *session) violationTable(l apiList) error {
	items, err := decodeItems(l.items)
	if err != nil {
		return err
	}
	t := newTable("TIME", "TYPE", "THING", "PROFILE", "BEHAVIOR", "VALUE", "VIOLATION ID")
	for _, o := range items {
		typ := o.text("violationEventType")
		if typ == "" {
			typ = "in-alarm"
		}
		value := o.get("metricValue")
		if value == nil {
			value = o.get("lastViolationValue")
		}
		t.row(o.time("violationEventTime", "lastViolationTime", "violationStartTime"), typ,
			o.text("thingName"), o.text("securityProfileName"), o.text("behavior.name"),
			formatMetricValue(value), o.text("violationId"))
	}
	return t.write(s)
}

func newViolationsVerifyCmd() *cobra.Command {
	return adminCmd(adminSpec{
		use:   "verify VIOLATION_ID --state STATE",
		short: "Record a verdict on a violation",
		long: "verify records what a violation turned out to be: TRUE_POSITIVE, BENIGN_POSITIVE, FALSE_POSITIVE\n" +
			"or UNKNOWN, with an optional description.",
		example: "  vigil violations verify 174db59167fa474c80a652ad1583fd44 --state FALSE_POSITIVE --description 'firmware update'",
		args:    cobra.ExactArgs(1),
		flags: func(f *pflag.FlagSet) {
			f.String("state", "", "TRUE_POSITIVE, BENIGN_POSITIVE, FALSE_POSITIVE or UNKNOWN (required)")
			f.String("description", "", "why")
		},
		run: func(s *session, args []string) error {
			f := s.cmd.Flags()
			if err := requireFlags(f, "state"); err != nil {
				return err
			}
			state := strings.ToUpper(strings.ReplaceAll(mustString(f, "state"), "-", "_"))
			if !slices.Contains(verificationStates, state) {
				return usageErrorf("--state %q: want %s", mustString(f, "state"), strings.Join(verificationStates, ", "))
			}
			body := map[string]string{"verificationState": state}
			if d := mustString(f, "description"); d != "" {
				body["verificationStateDescription"] = d
			}
			answer, err := s.api.post(s.ctx(), apiPath("violations", "verification-state", args[0]), nil, body)
			if err != nil {
				return err
			}
			return s.done(answer, "marked violation %s as %s", args[0], state)
		},
	})
}
