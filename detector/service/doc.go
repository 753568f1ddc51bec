// Package service runs the detector: it takes reports as they arrive from
// the broker (or an external broker's client), decodes and checks them,
// feeds their datapoints to the engine, records violations, and publishes
// replies and violation messages. It also applies the registry changes the
// API asks for, so that the engine, the registry and the store change
// together.
//
// # Semantics
//
//   - One goroutine (Run) owns the engine. Reports are taken in small
//     batches; each batch's effects (engine state, last report ids,
//     violation records and events, and the messages to publish) are
//     committed to the store in one synced write before any reply goes out.
//     A report answered "accepted" is therefore counted exactly once, even if
//     the process is killed right after. The write, and what waits for it
//     (replies, messages, the history and fleet summaries), happens on a
//     second goroutine while Run prepares the next batch; every commit, of
//     reports, ticks and API changes alike, goes through it in order
//     (pipeline.go).
//   - Messages for violations go through a persisted outbox: they are
//     published after the commit and removed from the outbox once published.
//     After a restart, what is left in the outbox is published first, and the
//     retained active-violation messages are published again from the store.
//   - Events also go to their profile's alert targets, in the same commit:
//     the extra MQTT topic through the outbox above, the webhook through
//     Options.Alerts (package alert), keyed by DeliveryKey. Events of a
//     behavior with suppressAlerts go to neither, and are recorded and
//     published on the event topic like any other.
//   - A report is rejected, with a reason on its reply topic, when it cannot
//     be decoded or validated (proto's codes), when its report id is not
//     greater than the thing's last accepted one (InvalidReportId, unless
//     lenient), when it comes sooner than the minimum interval (Throttled),
//     when it names an undefined custom metric or sends one of the wrong type,
//     or when a thing publishes for another thing (InvalidThingName).
//   - With a BrokerSource (the embedded broker), every thing also gets the
//     broker-side metrics: when a 5-minute window aligned to the epoch ends,
//     the growth of its broker counts in the window becomes one datapoint
//     per metric (and per dimensioned series), stamped with the window's last
//     millisecond; every minute, a connected thing gets vigil:report-silence,
//     the seconds since its last accepted report (or since it connected).
//     They are evaluated, recorded and retained like a report's datapoints.
//     Only the things whose profiles use them get them, and the broker counts
//     only the dimensions the profiles use.
//   - With the report time source, a datapoint's time is the report id read
//     as epoch milliseconds, and the engine's clock follows the latest report
//     time, so a simulator can replay days in minutes.
//
// # Caveats
//
// A crash between publishing an outbox message and removing it publishes
// that message again after the restart: delivery is at least once, with a
// window of one store write.
package service
