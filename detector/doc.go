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
// window's latest value. A window is evaluated, as a datapoint stamped with
// its end, when a report of a later window arrives or when Tick runs after
// its end plus a grace period (10% of the window) for late reports. A report
// for a window already evaluated is ignored by windowed behaviors. A window
// with no report gives no datapoint.
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
// Suppression. Events of a behavior with suppressAlerts are marked
// Suppressed: they are recorded and published like any other, and only
// alert targets skip them.
//
// # Caveats
//
// Statistical thresholds and machine-learning behaviors are refused by
// validation in this version. Broker-side metrics are known to validation
// but have data only where the broker provides it. Alarms only move when
// datapoints or Tick arrive: an engine that is not ticked never closes a
// window of a silent thing.
package detector
