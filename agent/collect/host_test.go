package collect

import (
	"net"
	"net/netip"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	psnet "github.com/shirou/gopsutil/v4/net"
)

func TestCountersFromStats(t *testing.T) {
	tests := []struct {
		name  string
		stats []psnet.IOCountersStat
		want  []InterfaceCounters
	}{
		{name: "none", stats: nil, want: []InterfaceCounters{}},
		{
			// Sent is out and received is in; errors and drops are not kept.
			name:  "directions",
			stats: []psnet.IOCountersStat{{Name: "eth0", BytesSent: 1, BytesRecv: 2, PacketsSent: 3, PacketsRecv: 4, Errin: 9}},
			want:  []InterfaceCounters{{Name: "eth0", BytesOut: 1, BytesIn: 2, PacketsOut: 3, PacketsIn: 4}},
		},
		{
			// Loopback is filtered later, by the Collector, which knows the
			// interface flags.
			name:  "loopback kept",
			stats: []psnet.IOCountersStat{{Name: "lo", BytesRecv: 5}, {Name: "eth0", BytesRecv: 6}},
			want:  []InterfaceCounters{{Name: "lo", BytesIn: 5}, {Name: "eth0", BytesIn: 6}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountersFromStats(tt.stats); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CountersFromStats() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSocketsFromStats(t *testing.T) {
	tests := []struct {
		name string
		stat psnet.ConnectionStat
		want []Socket
	}{
		{
			name: "tcp listener",
			stat: conn(syscall.AF_INET, syscall.SOCK_STREAM, "0.0.0.0", 22, "0.0.0.0", 0, "LISTEN"),
			want: []Socket{{Protocol: TCP, State: StateListen, Local: ap("0.0.0.0:22"), Remote: ap("0.0.0.0:0")}},
		},
		{
			name: "tcp6 established",
			stat: conn(syscall.AF_INET6, syscall.SOCK_STREAM, "2001:db8:1::20", 22, "2001:db8:2::99", 60000, "ESTABLISHED"),
			want: []Socket{{Protocol: TCP, State: StateEstablished, Local: ap("[2001:db8:1::20]:22"), Remote: ap("[2001:db8:2::99]:60000")}},
		},
		{
			// gopsutil reports UDP sockets with the state "NONE".
			name: "udp has no state",
			stat: conn(syscall.AF_INET6, syscall.SOCK_DGRAM, "::", 5353, "::", 0, "NONE"),
			want: []Socket{{Protocol: UDP, Local: ap("[::]:5353"), Remote: ap("[::]:0")}},
		},
		{
			// Some platforms print wildcard addresses as "*" or nothing.
			name: "star is the wildcard",
			stat: conn(syscall.AF_INET6, syscall.SOCK_DGRAM, "*", 123, "", 0, "NONE"),
			want: []Socket{{Protocol: UDP, Local: ap("[::]:123"), Remote: ap("[::]:0")}},
		},
		{name: "raw socket left out", stat: conn(syscall.AF_INET, syscall.SOCK_RAW, "0.0.0.0", 1, "0.0.0.0", 0, "NONE")},
		{name: "unparsable local address left out", stat: conn(syscall.AF_INET, syscall.SOCK_STREAM, "eth0", 22, "0.0.0.0", 0, "LISTEN")},
		{name: "port beyond 16 bits left out", stat: conn(syscall.AF_INET, syscall.SOCK_STREAM, "0.0.0.0", 70000, "0.0.0.0", 0, "LISTEN")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SocketsFromStats([]psnet.ConnectionStat{tt.stat})
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SocketsFromStats() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func conn(family, sockType uint32, lip string, lport uint32, rip string, rport uint32, status string) psnet.ConnectionStat {
	return psnet.ConnectionStat{
		Family: family, Type: sockType, Status: status,
		Laddr: psnet.Addr{IP: lip, Port: lport},
		Raddr: psnet.Addr{IP: rip, Port: rport},
	}
}

// TestHostSourceLive reads the machine running the tests.
func TestHostSourceLive(t *testing.T) {
	tcp := listenTCP(t)
	counters, err := HostSource{}.Counters(t.Context())
	if err != nil {
		t.Fatalf("Counters() error = %v", err)
	}
	if len(counters) == 0 {
		t.Fatal("Counters() returned no interface")
	}
	for _, c := range counters {
		if c.Name == "" || c.BytesIn < c.PacketsIn || c.BytesOut < c.PacketsOut {
			t.Errorf("implausible counters %+v: every packet carries at least a byte", c)
		}
	}
	sockets, err := HostSource{}.Sockets(t.Context())
	if err != nil {
		t.Fatalf("Sockets() error = %v", err)
	}
	want := Socket{Protocol: TCP, State: StateListen, Local: tcp, Remote: ap("0.0.0.0:0")}
	if !slices.Contains(sockets, want) {
		t.Errorf("Sockets() lacks the test's listener %+v", want)
	}
}

// TestCollectorLive samples the machine running the tests twice.
func TestCollectorLive(t *testing.T) {
	tcp := listenTCP(t)
	c := New(Options{})
	now := time.Now()
	s, _, first, err := c.Collect(t.Context(), now)
	if err != nil || !first {
		t.Fatalf("first Collect() = first %v, error %v; want true, nil", first, err)
	}
	loopback := systemLoopbackName(t)
	if want := (Listener{Port: tcp.Port(), Interface: loopback}); !slices.Contains(s.ListeningTCP, want) {
		t.Errorf("ListeningTCP = %+v, lacks %+v", s.ListeningTCP, want)
	}
	for _, ifc := range s.Interfaces {
		if ifc.Name == loopback {
			t.Errorf("Interfaces include loopback %q", loopback)
		}
	}
	if _, _, first, err = c.Collect(t.Context(), now.Add(time.Second)); err != nil || first {
		t.Fatalf("second Collect() = first %v, error %v; want false, nil", first, err)
	}
}

func systemLoopbackName(t *testing.T) string {
	t.Helper()
	ifaces, err := SystemInterfaces()
	if err != nil {
		t.Fatalf("SystemInterfaces() error = %v", err)
	}
	return loopbackName(ifaces)
}

// listenTCP opens a TCP listener on the IPv4 loopback address for the test.
func listenTCP(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close listener: %v", err)
		}
	})
	return l.Addr().(*net.TCPAddr).AddrPort()
}
