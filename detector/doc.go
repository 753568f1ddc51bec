// Package detector is Vigil's detection engine: it evaluates each thing's
// datapoints against the behaviors of the security profiles that cover it,
// and runs one alarm state machine per (thing, profile, behavior).
//
// The engine is pure and time-explicit. Every method takes the current time;
// none starts a goroutine, does I/O or reads a clock; it is not safe for
// concurrent use, and one owner drives it. Persistence, the broker and the
// API live elsewhere and talk to it through State, Restore and the events it
// returns.
//
// # Semantics
//
// Datapoints. Each accepted report gives one datapoint per metric it
// carries (Datapoints), at the time the caller passes to Observe. Counts of
// ports and connections use the list's total when the report gives one,
// else the list's length. Sets (ports, remote addresses) are deduplicated.
//
// Violation. A behavior describes normal behavior: a datapoint violates it
// when the criteria do not hold ("less-than-equals 4096" is violated by
// 5000). With in-port-set, in-cidr-set and in-set every element must be in
// the set; with the not-in forms no element may be. An empty set complies,
// and when the alarm is in force it clears it at once, whatever
// consecutiveDatapointsToClear says.
//
// Windows. A numeric behavior with durationSeconds evaluates one datapoint
// per tumbling window of that length, aligned to the Unix epoch. Counters
// (bytes, packets, messages, failures, attempts, disconnects) are summed over
// the window; gauges (port and connection counts, custom numbers) take the
// window's latest value. A window of a static behavior is evaluated, as a
// datapoint stamped with its end, when a report of a later window arrives or
// when Tick runs after its end plus a grace period (10% of the window) for
// late reports. A report for a window already evaluated is ignored by
// windowed behaviors. A window with no report gives no datapoint.
//
// Statistical threshold. A behavior of a numeric metric (an aws: count or a
// custom number) may give, instead of a value, statisticalThreshold.statistic
// (p0, p0.01, p0.1, p1, p10, p50, p90, p99, p99.9, p99.99 or p100) with a
// numeric operator; its durationSeconds defaults to 300. The population of
// one window of such a behavior of one profile is the value, in that
// tumbling window, of each device the profile covers that reported the
// metric (counters summed, gauges latest, as above); a device removed, or
// no longer covered, before the window is evaluated leaves it. When the
// window's end
// plus the grace period has passed, Tick computes the statistic of the
// window's population exactly, by nearest rank (the value of rank
// ceil(p/100 x n), see percentile.Exact), whatever the population's size,
// and evaluates every device's value in that window against the threshold,
// in thing name order, as a datapoint stamped with the window's end. A
// device is thus compared with its peers of the same window, and the
// threshold follows the fleet's daily curve without lag.
//
// Factor. The optional statisticalThreshold.factor (beyond AWS; default 1,
// finite and above 0) makes the threshold factor x statistic for less-than
// and less-than-equals, and statistic / factor for greater-than and
// greater-than-equals: "less-than-equals p90" with factor 2 is violated by a
// device that sends more than twice the 90th percentile of its peers. A
// device is part of its own population, so validation refuses less-than and
// less-than-equals with p100, and greater-than and greater-than-equals with
// p0, when the factor is 1 or more: such a behavior is never violated, or
// always violated by the fleet's extreme device. Custom numbers may be
// negative: the percentile of negative values is computed the same way, but
// a factor above 1 then moves a less-than threshold down (2 x -10 is -20)
// rather than up.
//
// Pending window. A report for a later window does not evaluate the
// device's previous window of a statistical behavior, whose population is
// not complete before the grace period is over: that window waits in a
// second slot of the alarm, where reports that arrive late still count,
// and both slots are part of the saved state. A report for a window whose
// population has been evaluated is ignored. When a report needs the second
// slot while it still waits (reports ran ahead of Tick, as in a replay, and
// the grace period is over), the behavior's populations up to the waiting
// window are evaluated then, and Observe returns their events, for every
// thing of them, in thing name order.
//
// Minimum population. A window whose population is smaller than
// MinPopulation devices (10 by default) gives no datapoint to anyone: no
// violation, no compliance, and no streak counter moves.
//
// Threshold in events. Every in-alarm and alarm-cleared event of a
// statistical behavior carries the threshold its value was judged against,
// the statistic and the population size (Event.Threshold);
// alarm-invalidated carries those of the alarm's last violating datapoint.
//
// Alarm. The alarm goes in-alarm after consecutiveDatapointsToAlarm
// violating datapoints in a row (default 1), and alarm-cleared after
// consecutiveDatapointsToClear compliant ones in a row while in alarm
// (default 1). A compliant datapoint resets the violation count; a violating
// one resets the compliant count. One violation id covers an alarm from
// in-alarm to its end. An alarm ends with alarm-invalidated when the thing
// has been silent longer than the silence timeout (2 days by default; Tick
// finds it and forgets the thing), when the thing is deleted (RemoveThing)
// or no longer covered by the profile (Retarget, or Observe with a profile
// list that lacks it), or when its behavior is changed or removed or its
// profile deleted (SetProfile, DeleteProfile). A behavior whose definition
// is unchanged keeps its state when the profile around it is edited.
//
// Dimensions. A behavior of aws:num-messages-sent,
// aws:num-messages-received, aws:message-byte-size or
// aws:num-authorization-failures may name a topic-filter dimension
// (metricDimension, operator IN by default, or NOT_IN). It then evaluates
// the datapoints of the series SeriesName gives, which whoever counts the
// messages (the broker) provides, and ignores the metric's other datapoints.
//
// Suppression. Events of a behavior with suppressAlerts are marked
// Suppressed: they are recorded and published like any other, and only
// alert targets skip them.
//
// Order. Tick returns its events in thing name order, and in profile and
// behavior name order for one thing; violation ids are made in that order.
//
// # Caveats
//
// Machine-learning behaviors are refused by validation in this version.
// Statistics are computed per profile over the things one engine holds, not
// across the account as AWS does them, nor yet across replicas that split a
// fleet. Broker-side metrics (and vigil:report-silence) are known to
// validation but have data only where the embedded broker provides it. Alarms only move when datapoints or Tick
// arrive: an engine that is not ticked never closes a window of a silent
// thing, nor a statistical window.
package detector
