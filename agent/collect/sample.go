package collect

import (
	"net/netip"
	"time"
)

// Sample is one observation of the host's network state.
type Sample struct {
	// Time is the time the caller gave for the observation.
	Time time.Time
	// Interfaces holds the cumulative counters of every interface except
	// loopback, sorted by name.
	Interfaces []InterfaceCounters
	// ListeningTCP holds the TCP ports in the LISTEN state, sorted by port,
	// then interface.
	ListeningTCP []Listener
	// ListeningUDP holds the bound UDP ports, sorted by port, then interface.
	ListeningUDP []Listener
	// Established holds the established TCP connections, sorted by remote
	// address and port, then local port, then interface.
	Established []Connection
}

// InterfaceCounters holds the cumulative traffic counters of one network
// interface, as the kernel reports them since the interface was created.
type InterfaceCounters struct {
	// Name is the interface name, such as "eth0".
	Name string
	// BytesIn is the number of bytes received.
	BytesIn uint64
	// BytesOut is the number of bytes sent.
	BytesOut uint64
	// PacketsIn is the number of packets received.
	PacketsIn uint64
	// PacketsOut is the number of packets sent.
	PacketsOut uint64
}

// Listener is a port that accepts traffic on one interface, or on all of them.
type Listener struct {
	// Port is the local port number.
	Port uint16
	// Interface is the name of the interface the port is bound on, or
	// AllInterfaces when it is bound to a wildcard address.
	Interface string
}

// Connection is an established TCP connection.
type Connection struct {
	// Remote is the peer's address and port; IPv4 peers are always IPv4
	// addresses, never IPv4-mapped IPv6 ones.
	Remote netip.AddrPort
	// LocalPort is the port number on this host.
	LocalPort uint16
	// LocalInterface is the name of the interface holding the local address,
	// or AllInterfaces when no single interface holds it.
	LocalInterface string
}

// NetworkDeltas holds the traffic of all non-loopback interfaces, summed,
// between two samples.
type NetworkDeltas struct {
	// BytesIn is the number of bytes received.
	BytesIn uint64
	// BytesOut is the number of bytes sent.
	BytesOut uint64
	// PacketsIn is the number of packets received.
	PacketsIn uint64
	// PacketsOut is the number of packets sent.
	PacketsOut uint64
}
