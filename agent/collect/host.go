package collect

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"

	psnet "github.com/shirou/gopsutil/v4/net"
)

// HostSource reads the live host through gopsutil.
type HostSource struct{}

var _ Source = HostSource{}

// Counters returns the counters of every interface of the host.
func (HostSource) Counters(ctx context.Context) ([]InterfaceCounters, error) {
	stats, err := psnet.IOCountersWithContext(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("read host interface counters: %w", err)
	}
	return CountersFromStats(stats), nil
}

// Sockets returns the TCP and UDP sockets of the host.
func (HostSource) Sockets(ctx context.Context) ([]Socket, error) {
	stats, err := psnet.ConnectionsWithoutUidsWithContext(ctx, "inet")
	if err != nil {
		return nil, fmt.Errorf("read host sockets: %w", err)
	}
	return SocketsFromStats(stats), nil
}

// CountersFromStats converts gopsutil's per-interface counters.
func CountersFromStats(stats []psnet.IOCountersStat) []InterfaceCounters {
	counters := make([]InterfaceCounters, 0, len(stats))
	for _, s := range stats {
		counters = append(counters, InterfaceCounters{
			Name:       s.Name,
			BytesIn:    s.BytesRecv,
			BytesOut:   s.BytesSent,
			PacketsIn:  s.PacketsRecv,
			PacketsOut: s.PacketsSent,
		})
	}
	return counters
}

// SocketsFromStats converts gopsutil's connections. Sockets that are neither
// TCP nor UDP, or whose local address cannot be parsed, are left out; an
// empty or "*" address is read as the wildcard address of its family.
func SocketsFromStats(stats []psnet.ConnectionStat) []Socket {
	sockets := make([]Socket, 0, len(stats))
	for _, s := range stats {
		if socket, ok := socketFromStat(s); ok {
			sockets = append(sockets, socket)
		}
	}
	return sockets
}

func socketFromStat(s psnet.ConnectionStat) (Socket, bool) {
	p, ok := protocolOf(s.Type)
	if !ok {
		return Socket{}, false
	}
	local, ok := addrPortOf(s.Family, s.Laddr)
	if !ok {
		return Socket{}, false
	}
	remote, _ := addrPortOf(s.Family, s.Raddr)
	return Socket{Protocol: p, State: stateNames[s.Status], Local: local, Remote: remote}, true
}

func protocolOf(sockType uint32) (Protocol, bool) {
	switch sockType {
	case syscall.SOCK_STREAM:
		return TCP, true
	case syscall.SOCK_DGRAM:
		return UDP, true
	}
	return 0, false
}

// addrPortOf parses a gopsutil address; a port beyond 16 bits is invalid.
func addrPortOf(family uint32, a psnet.Addr) (netip.AddrPort, bool) {
	if a.Port > 0xFFFF {
		return netip.AddrPort{}, false
	}
	addr, err := netip.ParseAddr(a.IP)
	if err != nil && (a.IP == "" || a.IP == "*") {
		addr, err = wildcardOf(family), nil
	}
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(addr, uint16(a.Port)), true
}

func wildcardOf(family uint32) netip.Addr {
	if family == syscall.AF_INET6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// stateNames maps gopsutil's TCP state names to kernel state numbers.
var stateNames = map[string]State{
	"ESTABLISHED": StateEstablished,
	"SYN_SENT":    0x02,
	"SYN_RECV":    0x03,
	"FIN_WAIT1":   0x04,
	"FIN_WAIT2":   0x05,
	"TIME_WAIT":   0x06,
	"CLOSE":       0x07,
	"CLOSE_WAIT":  0x08,
	"LAST_ACK":    0x09,
	"LISTEN":      StateListen,
	"CLOSING":     0x0B,
}
