// Command vigil-load is Vigil's end-to-end load benchmark driver. It
// publishes the simulated fleet's reports to a broker and measures what a
// Vigil server, or a bare broker, makes of them. scripts/load starts the
// processes under test and runs it once per case.
//
//	vigil-load run --case serve --broker mqtt://127.0.0.1:1883 --username vigil-fleet --password s3cret \
//	    --metrics http://127.0.0.1:8080/metrics --events-username vigil-operator --events-password s3cret \
//	    --pid vigil=1234 --devices 20000 --duration 60s --out serve.json
//	vigil-load run --case mosquitto --broker mqtt://127.0.0.1:1884 --count-subscriber --pid mosquitto=1235 --out mosquitto.json
//	vigil-load table serve.json mosquitto.json detect.json
//	vigil-load port
//
// # Semantics
//
//   - The stream. Every device's report of the fleet's first interval
//     ([sim.Fleet.ReportAt], JSON, long keys) is encoded once; each later
//     interval repeats it with the report id (and so, with
//     --time-source report, the datapoint time) advanced by one interval.
//     A fraction of the devices (--violators) alternate between their own
//     report and one whose bytes out exceed the load profile's ceiling, so
//     each of their reports opens or clears an alarm. Every case gets the
//     same stream: same seed, devices and order.
//   - Publishing. Reports go out at QoS 1 over a pool of connections as the
//     fleet identity ([sim.DialMQTT]), each connection with a bounded window
//     of unacknowledged publishes. Workers publish the intervals in turn,
//     as fast as the window lets them, or at --rate reports per second.
//     Publishing also waits while more than --max-outstanding reports are
//     published but not yet counted as delivered, so that a consumer
//     behind a broker that acknowledges at once (Mosquitto) sets the pace
//     and nothing overflows the broker's queue.
//   - Delivered. With --metrics, a report is delivered once the server
//     counts it in vigil_reports_accepted_total; with --count-subscriber,
//     once a QoS 1 subscriber of the report topics in this process has
//     received it. Lost is published minus delivered when the run ends.
//   - The rate is the delivered reports over the time from the first
//     publish to the last delivery. Publishing stops after --duration;
//     the run then waits, at most --drain, for the deliveries to catch up.
//   - Latency is from the publish of a violating or clearing report to the
//     arrival of its violation event (matched by thing and event time,
//     which is the report time), on a subscription to --events-filter.
//   - CPU is the user and system time of each --pid over the measured
//     interval, in % of one core; peak RSS is the process's high-water
//     mark (VmHWM) since it started.
//
// # Caveats
//
// The driver, the broker and the server share the machine: on a small
// machine the figures measure the whole box, and the driver's own CPU is
// reported beside them. Repeating one interval's reports keeps the
// driver's cost low but means each device's traffic, apart from the
// violators', does not change from one interval to the next.
package main
