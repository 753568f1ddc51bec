// Package collect reads the network state of the host a Vigil agent runs on
// and turns it into the metrics a device reports: traffic per interval,
// listening ports and established connections.
//
// A [Source] supplies raw state. [HostSource] reads the live host through
// gopsutil; [ProcSource] parses the kernel's /proc/net tables from any
// directory, which serves captured fixtures and hosts whose proc file system
// is mounted elsewhere (a container watching its host, for example). The
// parsers [ParseNetDev] and [ParseNetSockets] and the converters
// [CountersFromStats] and [SocketsFromStats] are plain functions, so each
// step can be tested from data alone.
//
// A [Collector] combines a Source with a [Tracker]: each call to
// [Collector.Collect] returns a [Sample] of the current state and the
// [NetworkDeltas] since the previous call.
//
// # Semantics
//
// Interfaces. Cumulative counters are kept for every interface except
// loopback: the interface named "lo" and any interface the host flags as
// loopback. Loopback traffic never leaves the device, so it says nothing about
// the device's exposure.
//
// Listening ports. A TCP port is listening when a socket on it is in the
// LISTEN state. A UDP port is listening when any UDP socket is bound to it,
// connected or not, because UDP has no listen state to tell servers from
// clients; short-lived client ports therefore appear too. Each port is named
// with the interface that owns its local address: [AllInterfaces] for the
// wildcard addresses 0.0.0.0 and ::, the loopback interface's name for
// 127.0.0.0/8 and ::1. A port bound on both IPv4 and IPv6 with the same
// interface appears once.
//
// Established connections. Every TCP socket in the ESTABLISHED state is
// reported with its remote address and port, its local port and the interface
// of its local address. IPv4-mapped IPv6 addresses are reported as IPv4.
// Connections whose remote end is the host itself are kept, and appear once
// for each end.
//
// All lists in a Sample are sorted and free of duplicates, so two samples of
// the same state compare equal.
//
// Deltas. The [Tracker] remembers the counters of the previous sample and sums,
// over interfaces, how much each counter grew since then:
//
//   - The first sample is a baseline: its deltas are zero and it is flagged as
//     first, so the caller can omit network statistics for it.
//   - An interface seen for the first time is a baseline too and contributes
//     nothing; it counts from its second sample on. Its counters hold traffic
//     from before the interval, which must not be charged to it.
//   - An interface that disappears contributes nothing, and is a new interface
//     again if it comes back.
//   - A counter that decreased from a value that fits in 32 bits, where reading
//     the decrease as a wrap at 2^32 gives growth of less than 2^31, wrapped:
//     its delta is 2^32 - previous + current. This is serial number arithmetic
//     (RFC 1982) and matters on 32-bit devices whose drivers keep 32-bit
//     counters.
//   - Any other decrease is a reset (driver reload, interface re-created): the
//     counter restarted from zero, so its delta is its current value.
//   - A delta larger than the link could carry in the elapsed time (see
//     [Limits]) is implausible and read as a reset as well; if even the
//     current value is implausible, the delta is zero.
//
// The delta of each counter of each interface is therefore never negative and
// never larger than the limit for the elapsed time.
//
// # Caveats
//
// A counter that reset and then grew past its previous value between two
// samples cannot be told from normal growth, and is undercounted. On a host
// with 64-bit counters, a reset that looks like a 32-bit wrap (as defined
// above) is read as one, and overcounted by less than 2^31. Two wraps within
// one interval count as one.
//
// Socket addresses in /proc/net are printed as 32-bit words in the host's
// byte order, and [ProcSource] decodes them in the byte order of the machine
// it runs on: tables captured on a host of the other byte order decode to
// wrong addresses.
//
// [HostSource] finds sockets the way gopsutil does, by walking every
// process's file descriptors to attribute each socket to a process, which
// this package does not use; its cost grows with the number of open files.
//
// An address that no interface holds (a non-local bind, or an address removed
// between reading sockets and interfaces) is named [AllInterfaces], since no
// single interface can be named for it.
package collect
