// Package sim simulates a fleet of ID-card scanners that report to Vigil:
// a deterministic model of their traffic, ports and connections, injected
// incidents with their ground truth, and a runner that publishes the
// reports over MQTT in accelerated time.
//
// # The fleet
//
// Scanners sit at the doors of factories in several cities ([Cities]), one
// scanner per door. A thing is named after its city, factory and door
// ("lyon-f02-door-013"); each city is a thing group ("lyon") and each of its
// factories a child group ("lyon-f02"). [Fleet.Things] and [Fleet.Groups]
// list them so that a caller can register them.
//
// # Semantics
//
//   - Every scanner reports once per interval (5 minutes), at a fixed phase
//     within it. The report id is the report's simulated time in epoch
//     milliseconds, so ids increase per thing, and a server run with
//     `--time-source report` dates its datapoints in simulated time.
//   - Bytes out follow [DailyCurve] in the city's local time: low at night,
//     a plateau by day, peaks at 8:00 and 20:00, times a noise factor drawn
//     per report in [1-Noise, 1+Noise]; without an incident they stay within
//     0..[MaxBytesOut]. Bytes in follow bytes out; packets are bytes divided
//     by a mean packet size, rounded up.
//   - A scanner listens on [ListeningTCP] and [ListeningUDP], and holds a
//     connection to its factory's server (10.{city}.x.y:443) and, in a
//     quarter of the intervals, to [UpdateServer]: every normal peer is in
//     [ExpectedCIDR].
//   - A reboot (about one per five device-days) leaves one interval of
//     near-zero traffic. Report ids keep increasing across it: they are
//     times, not counters.
//   - A network outage of one scanner (about one per twenty device-days,
//     15 minutes to 3 hours) drops its reports; it resumes afterwards.
//   - Incidents ([Kind]) change the reports made within [Start, End) and
//     nothing else: DDoS multiplies bytes and packets out by 20 to 100,
//     SpamRelay adds many connections to public addresses on port 25,
//     CommandAndControl one connection to a public address, Backdoor a
//     listening TCP port, Exfiltration doubles bytes out for many hours.
//   - An outage burst silences every scanner of a factory for 10 to 30
//     minutes; each keeps its reports and sends them, in order and with
//     their own times, when the burst ends. It is not an incident.
//   - Incidents are given ([ParseIncidents]) or drawn at a rate per kind per
//     1,000 device-days; outage bursts are drawn per factory at the same rate
//     per device-day. The ground truth lists every event of the run, one JSON
//     line per thing ([TruthRecord]).
//   - The model is a pure function of the seed, the thing and the time:
//     [Fleet.ReportAt] gives the same report for the same arguments, in any
//     order of calls, and the same seed gives the same fleet.
//
// # Running
//
// [Fleet.Run] walks the intervals from the start, sends each thing's
// reports through a [Publisher], and writes the ground truth of each day as
// it reaches it. The first Replay of simulated time goes as fast as the
// publisher takes it; after that, a report goes out when the simulated
// clock, running Speed times faster than the wall clock from the end of the
// replay, reaches its time. [MQTTPublisher] publishes at QoS 1 over a pool
// of connections (as a fleet identity that may publish for any thing) or
// one connection per thing, with a bounded window of unacknowledged
// publishes per connection, so that the broker's pace sets the simulator's
// and nothing is dropped.
//
// # Caveats
//
// Cities keep their standard-time offsets all year: daylight saving time is
// not modelled. Generated events are drawn per UTC day and last at most a
// day. The public addresses of incidents come from the documentation
// networks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24). The paced
// clock starts when the replay is done, at the replay's end: with the
// default start (now minus the replay) and a speed of 1, simulated time then
// runs behind the wall clock by as long as the replay took.
package sim
