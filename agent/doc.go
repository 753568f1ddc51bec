// Package agent is Vigil's device agent: it samples the host's network state,
// builds a Device Defender metrics report, publishes it to the thing's report
// topic on a fixed interval, and logs the server's accepted or rejected reply.
//
// # Semantics
//
//   - A report carries the listening TCP and UDP ports, the established TCP
//     connections with their remote addresses, the traffic since the previous
//     report, and the custom metrics of the configured source.
//   - The first report after start goes out at once and has no network_stats:
//     there is nothing yet to measure traffic against, and a zero would be a
//     false datapoint. Later reports carry the traffic since the previous one.
//   - Traffic of a report that could not be published is carried into the
//     next report, so the server's sums stay whole across an outage.
//   - Report ids are epoch milliseconds, made strictly increasing even if the
//     clock steps back.
//   - Reports go out at QoS 1. The MQTT client reconnects by itself with
//     backoff and subscribes again to the thing's replies on every connect.
//
// # Caveats
//
// The agent never imports server packages, so the device binary stays small.
// A custom metric command that fails or prints garbage costs its metrics for
// that report only; the report still goes out. A command that runs past its
// timeout is killed together with every process it started (on Unix, its
// process group), and at most 64 KiB of its output is kept.
package agent
