// Command cmd runs Vigil's detection evaluation: a simulated fleet with
// injected incidents replayed through the detection engine under several
// profile settings, each scored against the ground truth.
//
//	go run ./eval/cmd                                          # the reference run
//	go run ./eval/cmd --profile cmd/vigil/demo_profile.json    # and a profile file
//	go run ./eval/cmd --devices 200 --days 2 --incidents 2     # a quick run
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vigil-iot/vigil/eval"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

// profileFiles collects repeated --profile flags.
type profileFiles []string

func (p *profileFiles) String() string     { return strings.Join(*p, ",") }
func (p *profileFiles) Set(v string) error { *p = append(*p, v); return nil }

func run() error {
	var sc eval.Scenario
	var files profileFiles
	flag.Uint64Var(&sc.Seed, "seed", eval.DefaultSeed, "seed of the fleet and of the injected events")
	flag.IntVar(&sc.Devices, "devices", eval.DefaultDevices, "number of scanners")
	flag.IntVar(&sc.Cities, "cities", eval.DefaultCities, "number of cities")
	flag.IntVar(&sc.Days, "days", eval.DefaultDays, "simulated days; events start after the first")
	flag.IntVar(&sc.PerKind, "incidents", eval.DefaultPerKind, "incidents of each kind")
	flag.IntVar(&sc.Bursts, "bursts", eval.DefaultBursts, "outage bursts, each of one factory")
	flag.Var(&files, "profile", "a profile file (AWS JSON) to evaluate as well; may be repeated")
	only := flag.String("only", "", "evaluate only the settings whose name matches this regular expression")
	missed := flag.Bool("missed", false, "list the incidents each setting missed")
	workers := flag.Int("workers", 0, "goroutines that build reports (0: one per CPU)")
	flag.Parse()
	settings, err := choose(files, *only)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	began := time.Now()
	progress := func(t time.Time) {
		fmt.Fprintf(os.Stderr, "eval: simulated %s (%s elapsed)\n", t.Format(time.DateOnly), time.Since(began).Round(time.Second))
	}
	res, err := eval.Evaluate(ctx, sc, settings, eval.Options{Workers: *workers, Progress: progress})
	if err != nil {
		return err
	}
	if err := report(sc, settings, res, time.Since(began)); err != nil {
		return err
	}
	for _, s := range res.Scores {
		if *missed {
			if err := eval.WriteMissed(os.Stdout, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// choose returns the grid's settings and the profile files', filtered by
// name.
func choose(files []string, only string) ([]eval.Setting, error) {
	settings := eval.Grid()
	for _, path := range files {
		s, err := eval.LoadProfile(path)
		if err != nil {
			return nil, err
		}
		settings = append(settings, s)
	}
	if only == "" {
		return settings, nil
	}
	re, err := regexp.Compile(only)
	if err != nil {
		return nil, fmt.Errorf("--only: %w", err)
	}
	return slices.DeleteFunc(settings, func(s eval.Setting) bool { return !re.MatchString(s.Name) }), nil
}

func report(sc eval.Scenario, settings []eval.Setting, res eval.Result, took time.Duration) error {
	scores := res.Scores
	fmt.Printf("# Vigil detection evaluation: seed %d, %d scanners in %d cities, %d days from %s,\n",
		sc.Seed, sc.Devices, sc.Cities, sc.Days, eval.DefaultStart.Format(time.DateOnly))
	fmt.Printf("# %d incidents of each kind and %d outage bursts after the first day; %.0f device-days;\n",
		sc.PerKind, res.Bursts, sc.DeviceDays())
	fmt.Printf("# %d reports replayed (%d sent late, after an outage burst) in %s.\n\n", res.Reports, res.Late, took.Round(time.Second))
	fmt.Println("Detected, and p95 time to detect, per kind:")
	if err := eval.WriteSummary(os.Stdout, scores); err != nil {
		return err
	}
	fmt.Println()
	for i, s := range scores {
		if err := eval.WriteScore(os.Stdout, s, settings[i].About); err != nil {
			return err
		}
	}
	return nil
}
