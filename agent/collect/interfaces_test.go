package collect

import (
	"net/netip"
	"slices"
	"testing"
)

// fixtureInterfaces are the interfaces of the host the testdata/proc tables
// were captured on.
var fixtureInterfaces = []HostInterface{
	{Name: "lo", Loopback: true, Addrs: addrs("127.0.0.1", "::1")},
	{Name: "eth0", Addrs: addrs("192.168.1.20", "2001:db8:1::20", "fe80::1c2d:3eff:fe4f:5a6b%eth0")},
	{Name: "wlan0", Addrs: addrs("10.0.0.7")},
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestInterfaceTableName(t *testing.T) {
	shared := append(slices.Clone(fixtureInterfaces), HostInterface{Name: "br0", Addrs: addrs("192.168.1.20")})
	renamed := []HostInterface{{Name: "lo0", Loopback: true, Addrs: addrs("127.0.0.1")}, {Name: "en0", Addrs: addrs("10.1.1.1")}}
	tests := []struct {
		name   string
		ifaces []HostInterface
		addr   string
		want   string
	}{
		{name: "IPv4 wildcard means all interfaces", ifaces: fixtureInterfaces, addr: "0.0.0.0", want: AllInterfaces},
		{name: "IPv6 wildcard means all interfaces", ifaces: fixtureInterfaces, addr: "::", want: AllInterfaces},
		{name: "IPv4 address of an interface", ifaces: fixtureInterfaces, addr: "10.0.0.7", want: "wlan0"},
		{name: "IPv6 address of an interface", ifaces: fixtureInterfaces, addr: "2001:db8:1::20", want: "eth0"},
		// A dual-stack socket shows its IPv4 address mapped into IPv6.
		{name: "IPv4-mapped address", ifaces: fixtureInterfaces, addr: "::ffff:192.168.1.20", want: "eth0"},
		// The kernel tables carry no zone, the interface list does.
		{name: "link-local address", ifaces: fixtureInterfaces, addr: "fe80::1c2d:3eff:fe4f:5a6b", want: "eth0"},
		{name: "IPv6 loopback", ifaces: fixtureInterfaces, addr: "::1", want: "lo"},
		// 127.0.0.0/8 is loopback although lo lists only 127.0.0.1.
		{name: "loopback range", ifaces: fixtureInterfaces, addr: "127.0.0.53", want: "lo"},
		{name: "mapped loopback", ifaces: fixtureInterfaces, addr: "::ffff:127.0.0.1", want: "lo"},
		{name: "loopback named by its flag", ifaces: renamed, addr: "127.0.0.2", want: "lo0"},
		// Without an interface list the Linux name is assumed.
		{name: "loopback without interfaces", ifaces: nil, addr: "127.0.0.1", want: DefaultLoopbackName},
		{name: "address no interface holds", ifaces: fixtureInterfaces, addr: "192.0.2.1", want: AllInterfaces},
		{name: "first interface wins a shared address", ifaces: shared, addr: "192.168.1.20", want: "eth0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := newInterfaceTable(tt.ifaces)
			if got := table.name(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("name(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestInterfaceTableIsLoopback(t *testing.T) {
	ifaces := []HostInterface{{Name: "lo0", Loopback: true}, {Name: "eth0"}}
	tests := []struct {
		name string
		want bool
	}{
		{name: "lo0", want: true},
		// "lo" is loopback on Linux even when the list does not say so.
		{name: "lo", want: true},
		{name: "eth0", want: false},
		{name: "unknown", want: false},
	}
	table := newInterfaceTable(ifaces)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := table.isLoopback(tt.name); got != tt.want {
				t.Errorf("isLoopback(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestSystemInterfaces(t *testing.T) {
	ifaces, err := SystemInterfaces()
	if err != nil {
		t.Fatalf("SystemInterfaces() error = %v", err)
	}
	table := newInterfaceTable(ifaces)
	if got := table.name(netip.MustParseAddr("127.0.0.1")); !table.isLoopback(got) {
		t.Errorf("127.0.0.1 maps to %q, which is not loopback", got)
	}
	for _, ifc := range ifaces {
		for _, a := range ifc.Addrs {
			if a.Is4In6() {
				t.Errorf("interface %q lists mapped address %v", ifc.Name, a)
			}
		}
	}
}
