// Package mqttclient feeds the detector from an external MQTT broker, for
// sidecar mode (`vigil detect`): it subscribes to the report topics and
// hands each report to the detector, and it publishes the detector's replies
// and violation messages back to the broker.
//
// # Semantics
//
//   - Two connections. Reports come in on a persistent session (clean
//     session off, client id Options.ClientID, QoS 1 subscriptions to
//     $aws/things/+/defender/metrics/+ and $vigil/things/+/defender/metrics/+,
//     made again on every connect). Replies and violation messages go out
//     on a second connection (client id ClientID + "-pub", clean session).
//     The split keeps the two directions apart: paho reads one connection on
//     one goroutine, so a report handler that waits for the detector would
//     otherwise hold back the PUBACKs that the detector's own publishes wait
//     for.
//   - Order. Reports are handed to the handler one at a time, in the order
//     the broker delivered them, on paho's router goroutine
//     (SetOrderMatters(true)). The handler may block while the detector is
//     busy: paho then stops reading the connection, and the broker keeps the
//     reports queued in the session. There is no channel of our own between
//     paho and the detector, so nothing is buffered twice and nothing is
//     reordered.
//   - Acknowledgement after commit. A QoS 1 report is acknowledged to the
//     broker only once the detector has answered it: the detector publishes
//     a report's reply after the report's effects are committed to the
//     store, and Publish acknowledges the oldest unanswered report of the
//     same topic when it sees that reply go out (whether or not the reply
//     itself reached the broker). A report that the detector had not
//     committed when the process stopped or crashed is therefore delivered
//     again by the broker to the next session; one that was committed but not
//     yet acknowledged is delivered again and rejected as a repeated report
//     id (InvalidReportId), so it is counted once. A topic that the detector
//     ignores (not a report topic) is acknowledged at once.
//   - Publishing. Publish waits for the broker's PUBACK of a QoS 1 message,
//     up to Options.PublishTimeout, and returns ErrNotConnected at once while
//     the connection is down. The detector keeps what it could not publish
//     and tries again on its next tick; paho's own store is never relied on.
//   - Reconnection. Both connections reconnect by themselves with a
//     doubling backoff capped at Options.MaxReconnectDelay. The first
//     connection must succeed within Options.ConnectTimeout; a broker that
//     refuses the credentials fails at once.
//
// # Caveats
//
// There is no broker-side identity: the client cannot tell which device
// published a report, so the detector must be told "" as the sender, and the
// broker's ACLs must stop a device from publishing on another thing's report
// topic.
//
// The number of reports in flight is bounded by the broker's limit of
// unacknowledged QoS 1 messages per client (Mosquitto's
// max_inflight_messages, 20 by default): raise it for a large fleet.
//
// With --lenient-report-id a report delivered again after a crash is counted
// again, since repeated report ids are then accepted.
//
// A PUBACK lost with the connection makes the detector publish that message
// again: violation messages are delivered at least once.
package mqttclient
