// Package mitigation acts on things that misbehave: it quarantines a
// thing (a thing group, a disconnection, and a broker that lets the thing
// publish nothing but its reports), time-boxes and releases quarantines,
// applies the mitigation actions a security profile names for its
// behaviors when one of them goes in alarm, and records every action it
// takes, by violation.
//
// # Semantics
//
// A profile names its mitigations per behavior (SetProfileMitigations):
// each behavior may list actions in AWS's actionParams shape, of two
// types:
//
//   - quarantineParams {thingGroupName, durationSeconds}: Vigil's
//     quarantine. The thing joins the group (DefaultQuarantineGroup when
//     not named; the group is created when missing), is disconnected, and
//     may reconnect to publish its own reports and read its own replies,
//     nothing else, so it can still be watched. With durationSeconds > 0
//     it is released when that time has passed; otherwise it stays until
//     released by an operator. Quarantining a quarantined thing replaces
//     its time box.
//   - addThingsToThingGroupParams {thingGroupNames}: as in AWS, the thing
//     joins each group (they must exist); it stays connected.
//
// Each action type runs once per violation, when its in-alarm event arrives
// (HandleEvent): an event delivered twice does not act twice. Quarantine
// and Release, from the API or the CLI, act at once and are recorded
// without a violation id. Every action, and every release, is an Execution
// with its outcome (SUCCESSFUL or FAILED and why), listed by violation or
// thing.
//
// Releasing takes the thing out of the quarantine group; its connection is
// left alone: the broker asks Quarantined on every message, so the
// restriction ends at once.
//
// # Caveats
//
// The detector must not import the broker: a Disconnector, given by the
// wiring, ends connections. In sidecar mode there is no broker of Vigil's
// to restrict a quarantined thing: it joins the group only.
//
// Time boxes are checked once a second (Options.TickInterval) by Run; a
// quarantine may outlive its box by that much. Executions are kept until
// Options.Retention has passed (checked hourly by Tick), or Prune removes
// them.
package mitigation
