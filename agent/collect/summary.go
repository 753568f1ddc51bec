package collect

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// summarize builds the Sample of the raw state read at now.
func summarize(now time.Time, counters []InterfaceCounters, sockets []Socket, t interfaceTable) Sample {
	return Sample{
		Time:         now,
		Interfaces:   externalCounters(counters, t),
		ListeningTCP: listeners(sockets, TCP, t),
		ListeningUDP: listeners(sockets, UDP, t),
		Established:  established(sockets, t),
	}
}

// externalCounters returns the counters of non-loopback interfaces, sorted by
// name; of an interface listed twice, the first entry is kept.
func externalCounters(counters []InterfaceCounters, t interfaceTable) []InterfaceCounters {
	kept := make([]InterfaceCounters, 0, len(counters))
	seen := make(map[string]bool, len(counters))
	for _, c := range counters {
		if t.isLoopback(c.Name) || seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		kept = append(kept, c)
	}
	slices.SortFunc(kept, func(a, b InterfaceCounters) int { return strings.Compare(a.Name, b.Name) })
	return kept
}

// listeners returns the listening ports of protocol p, without duplicates.
func listeners(sockets []Socket, p Protocol, t interfaceTable) []Listener {
	set := make(map[Listener]struct{})
	for _, s := range sockets {
		if isListening(s, p) {
			set[Listener{Port: s.Local.Port(), Interface: t.name(s.Local.Addr())}] = struct{}{}
		}
	}
	return slices.SortedFunc(maps.Keys(set), compareListeners)
}

// isListening reports whether s listens with protocol p: a TCP socket in the
// LISTEN state, or any UDP socket bound to a port.
func isListening(s Socket, p Protocol) bool {
	if s.Protocol != p || s.Local.Port() == 0 {
		return false
	}
	return p == UDP || s.State == StateListen
}

func compareListeners(a, b Listener) int {
	return cmp.Or(cmp.Compare(a.Port, b.Port), strings.Compare(a.Interface, b.Interface))
}

// established returns the established TCP connections, without duplicates.
func established(sockets []Socket, t interfaceTable) []Connection {
	set := make(map[Connection]struct{})
	for _, s := range sockets {
		if s.Protocol == TCP && s.State == StateEstablished {
			set[connectionOf(s, t)] = struct{}{}
		}
	}
	return slices.SortedFunc(maps.Keys(set), compareConnections)
}

func connectionOf(s Socket, t interfaceTable) Connection {
	return Connection{
		Remote:         netip.AddrPortFrom(plainAddr(s.Remote.Addr()), s.Remote.Port()),
		LocalPort:      s.Local.Port(),
		LocalInterface: t.name(s.Local.Addr()),
	}
}

func compareConnections(a, b Connection) int {
	return cmp.Or(
		a.Remote.Compare(b.Remote),
		cmp.Compare(a.LocalPort, b.LocalPort),
		strings.Compare(a.LocalInterface, b.LocalInterface),
	)
}
