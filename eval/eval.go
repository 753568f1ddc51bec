package eval

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-iot/vigil/sim"
)

// Result is the outcome of an evaluation.
type Result struct {
	// Scores holds one score per setting, in the order of the settings.
	Scores []Score
	// Reports is the number of reports replayed; Late the number of those
	// sent after an outage burst.
	Reports, Late int
	// Incidents and Bursts count the injected events; a burst is counted
	// once per factory.
	Incidents, Bursts int
}

// Evaluate builds the scenario's fleet, replays it through one engine per
// setting, and scores each setting's alarms against the ground truth.
func Evaluate(ctx context.Context, sc Scenario, settings []Setting, o Options) (Result, error) {
	f, err := sc.Fleet()
	if err != nil {
		return Result{}, err
	}
	rep, err := Replay(ctx, f, settings, o)
	if err != nil {
		return Result{}, err
	}
	truth := f.Incidents(f.Options().Start, f.End())
	res := Result{Reports: rep.Reports, Late: rep.Late}
	for i, s := range settings {
		res.Scores = append(res.Scores, Judge(s.Name, truth, rep.Alarms[i], sc.DeviceDays()))
	}
	for _, in := range f.Options().Incidents {
		if in.Kind.IsIncident() {
			res.Incidents++
		} else {
			res.Bursts++
		}
	}
	return res, nil
}

// WriteScore writes a setting's table: per incident kind, the share
// detected and the median and 95th percentile time to detect; then the
// false alarms, by behavior, and those raised on outage bursts.
func WriteScore(w io.Writer, s Score, about string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "## %s: %s\n", s.Setting, about)
	fmt.Fprintf(tw, "kind\tdetected\tmedian TTD\tp95 TTD\n")
	for _, k := range s.Kinds {
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\n", k.Kind, k.Detected, k.Incidents, delay(k.Median(), k.Detected), delay(k.P95(), k.Detected))
	}
	fmt.Fprintf(tw, "false alarms\t%d\t%.2f per 1,000 device-days", s.FalseAlarms, s.FalsePer1000())
	if len(s.FalseByBehavior) > 0 {
		fmt.Fprintf(tw, "\t%s", byBehavior(s.FalseByBehavior))
	}
	fmt.Fprintf(tw, "\nalarms on outage bursts\t%d\n\n", s.BurstAlarms)
	return tw.Flush()
}

// WriteMissed writes the incidents of a score that no alarm detected, one
// a line, with the local time of their start in their thing's city.
func WriteMissed(w io.Writer, s Score) error {
	for _, k := range s.Kinds {
		for _, in := range k.Missed {
			if _, err := fmt.Fprintf(w, "missed by %s: %s\n", s.Setting, describe(in)); err != nil {
				return err
			}
		}
	}
	return nil
}

// describe prints an incident: kind, thing, start and end in UTC, the
// local hour of its start, and its parameters.
func describe(in sim.Incident) string {
	local := in.Start
	for _, c := range sim.Cities {
		if strings.HasPrefix(in.Thing, c.Name+"-") {
			local = in.Start.Add(c.Offset)
		}
	}
	out := fmt.Sprintf("%s %s %s..%s (local %s, %s)", in.Kind, in.Thing, in.Start.Format("01-02 15:04"), in.End.Format("01-02 15:04"),
		local.Format("15:04"), in.End.Sub(in.Start))
	if in.Factor != 0 {
		out += fmt.Sprintf(" factor %.1f", in.Factor)
	}
	return out
}

// WriteSummary writes one line per setting: the share detected of each
// kind, the worst p95 time to detect, and the false alarms.
func WriteSummary(w io.Writer, scores []Score) error {
	if len(scores) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "setting\t")
	for _, k := range scores[0].Kinds {
		fmt.Fprintf(tw, "%s\t", k.Kind)
	}
	fmt.Fprint(tw, "false/1k dd\tburst alarms\t\n")
	for _, s := range scores {
		fmt.Fprintf(tw, "%s\t", s.Setting)
		for _, k := range s.Kinds {
			fmt.Fprintf(tw, "%d/%d %s\t", k.Detected, k.Incidents, delay(k.P95(), k.Detected))
		}
		fmt.Fprintf(tw, "%.2f\t%d\t\n", s.FalsePer1000(), s.BurstAlarms)
	}
	return tw.Flush()
}

// delay prints a time to detect in minutes, or "-" when nothing was
// detected.
func delay(d time.Duration, detected int) string {
	if detected == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fm", d.Minutes())
}

func byBehavior(counts map[string]int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", name, counts[name]))
	}
	return strings.Join(parts, ", ")
}
