package collect

import (
	"fmt"
	"net"
	"net/netip"
)

// AllInterfaces is the interface name given to a socket bound to a wildcard
// address (0.0.0.0 or ::), which accepts traffic on every interface.
const AllInterfaces = ""

// DefaultLoopbackName is the name of the loopback interface, assumed when no
// listed interface is flagged as loopback.
const DefaultLoopbackName = "lo"

// HostInterface is one network interface of the host and the addresses
// assigned to it.
type HostInterface struct {
	// Name is the interface name, such as "eth0".
	Name string
	// Loopback reports whether the host flags the interface as loopback.
	Loopback bool
	// Addrs holds the interface's IP addresses.
	Addrs []netip.Addr
}

// InterfaceLister lists the host's network interfaces.
type InterfaceLister func() ([]HostInterface, error)

// SystemInterfaces lists the host's network interfaces with net.Interfaces.
func SystemInterfaces() ([]HostInterface, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	hosts := make([]HostInterface, 0, len(ifaces))
	for _, ifc := range ifaces {
		h, err := hostInterface(ifc)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

func hostInterface(ifc net.Interface) (HostInterface, error) {
	addrs, err := ifc.Addrs()
	if err != nil {
		return HostInterface{}, fmt.Errorf("list addresses of interface %q: %w", ifc.Name, err)
	}
	h := HostInterface{Name: ifc.Name, Loopback: ifc.Flags&net.FlagLoopback != 0}
	for _, a := range addrs {
		if ip, ok := ipOf(a); ok {
			h.Addrs = append(h.Addrs, ip)
		}
	}
	return h, nil
}

func ipOf(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch v := a.(type) {
	case *net.IPNet:
		ip = v.IP
	case *net.IPAddr:
		ip = v.IP
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}

// interfaceTable names the interface of a local address and tells loopback
// interfaces apart.
type interfaceTable struct {
	byAddr       map[netip.Addr]string
	loopbacks    map[string]bool
	loopbackName string
}

func newInterfaceTable(ifaces []HostInterface) interfaceTable {
	t := interfaceTable{
		byAddr:       make(map[netip.Addr]string),
		loopbacks:    map[string]bool{DefaultLoopbackName: true},
		loopbackName: loopbackName(ifaces),
	}
	for i := len(ifaces) - 1; i >= 0; i-- {
		t.add(ifaces[i])
	}
	return t
}

// loopbackName returns the name of the first interface flagged as loopback,
// or DefaultLoopbackName.
func loopbackName(ifaces []HostInterface) string {
	for _, ifc := range ifaces {
		if ifc.Loopback {
			return ifc.Name
		}
	}
	return DefaultLoopbackName
}

// add records ifc; interfaces are added last to first, so that the first
// listed wins an address held twice.
func (t interfaceTable) add(ifc HostInterface) {
	for _, a := range ifc.Addrs {
		t.byAddr[plainAddr(a)] = ifc.Name
	}
	if ifc.Loopback {
		t.loopbacks[ifc.Name] = true
	}
}

// name returns the name of the interface holding the local address a.
func (t interfaceTable) name(a netip.Addr) string {
	a = plainAddr(a)
	if a.IsUnspecified() {
		return AllInterfaces
	}
	if name, ok := t.byAddr[a]; ok {
		return name
	}
	if a.IsLoopback() {
		return t.loopbackName
	}
	return AllInterfaces
}

// isLoopback reports whether the interface named name is loopback.
func (t interfaceTable) isLoopback(name string) bool {
	return t.loopbacks[name]
}

// plainAddr strips an address of IPv4 mapping and zone, as the kernel tables
// show neither.
func plainAddr(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}
