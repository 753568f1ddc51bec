package collect

import (
	"context"
	"net/netip"
)

// Source reads the raw network state of a host.
type Source interface {
	// Counters returns the cumulative counters of every interface,
	// loopback included.
	Counters(ctx context.Context) ([]InterfaceCounters, error)
	// Sockets returns the host's TCP and UDP sockets, IPv4 and IPv6.
	Sockets(ctx context.Context) ([]Socket, error)
}

// Protocol is the transport protocol of a socket.
type Protocol uint8

// The transport protocols a Source reports.
const (
	TCP Protocol = iota + 1
	UDP
)

// String returns the protocol's lower-case name.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return "unknown"
}

// State is the state of a socket, numbered as the Linux kernel numbers TCP
// states (include/net/tcp_states.h); zero means the source did not report one.
type State uint8

// The socket states this package acts on.
const (
	StateEstablished State = 0x01
	StateListen      State = 0x0A
)

// Socket is one TCP or UDP socket as the kernel reports it. Its addresses may
// be IPv4-mapped IPv6 addresses; the Collector unmaps them.
type Socket struct {
	// Protocol is the socket's transport protocol.
	Protocol Protocol
	// State is the socket's state; for UDP it carries no meaning here.
	State State
	// Local is the address and port the socket is bound to.
	Local netip.AddrPort
	// Remote is the peer's address and port, unspecified when there is none.
	Remote netip.AddrPort
}
