// Package eval measures how well security profiles detect incidents: it
// replays a simulated fleet with injected incidents through the detection
// engine, one engine per profile setting, and scores each setting's alarms
// against the simulator's ground truth. scripts/eval runs the reference
// evaluation; docs/detection.md quotes its tables.
//
// # Scenario
//
// A [Scenario] is a fleet of sim's ID-card scanners (2,000 in 3 cities by
// default) over a number of days (7), with its reboots and single-scanner
// outages, and events given explicitly from a seed: PerKind incidents of
// each kind (40), each on its own scanner, and outage bursts that silence a
// whole factory for 10 to 30 minutes. Events start after the first day, so
// that every scanner has a day of normal history first, and end by the end
// of the run. Floods last 30 minutes to 4 hours, spam relays 1 to 6 hours,
// command-and-control 1 to 12 hours, exfiltration 6 to 24 hours; a
// backdoor lasts until the end of its UTC day.
//
// # Replay
//
// [Replay] does what `vigil serve --time-source report` does with a
// fleet's reports, without the broker and the store: interval after
// interval, it takes each thing's reports from the pure model
// (sim.Fleet.ReportsAt), in the order the things send them (a scanner back
// from an outage burst sends the reports it kept, then its own), observes
// each at its own time with detector.Datapoints, and ticks each engine
// every 30 seconds of the latest report time. Reports are built by several
// goroutines; each engine is driven by one.
//
// # Semantics
//
//   - An incident is detected when its thing has an in-alarm event, of any
//     behavior, in [start, end+Tolerance]; its time to detect is from its
//     start to the first such event.
//   - A false alarm is an in-alarm event that no incident of its thing
//     explains (outside [start, end+Tolerance] of each), counted per 1,000
//     device-days of the run.
//   - A burst alarm is a false alarm raised on a thing during an outage
//     burst of its factory or within Tolerance after it.
//   - Percentiles of the time to detect are by nearest rank.
//
// # Caveats
//
// An event's time is the time of the datapoint that raised it: a report's
// time, or for a windowed behavior the end of its 5-minute window, which
// the engine evaluates a grace period (30 seconds) later. Each setting has
// its own engine, so the statistical populations are those of its
// profiles. The scores are only as good as the simulator: its scanners of
// one city follow one daily curve with bounded noise, which makes normal
// traffic easier to bound than a real fleet's.
package eval
