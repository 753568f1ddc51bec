package collect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/common"
	psnet "github.com/shirou/gopsutil/v4/net"
)

const devHeader = "Inter-|   Receive                                                |  Transmit\n" +
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"

func TestParseNetDev(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []InterfaceCounters
		wantErr bool
	}{
		{
			// The layout of current kernels: a space after the colon.
			name: "kernel format",
			data: devHeader + "  eth0: 16179719    1044    0    0    0     0          0         0   119208    1083    0    0    0     0       0          0\n",
			want: []InterfaceCounters{{Name: "eth0", BytesIn: 16179719, PacketsIn: 1044, BytesOut: 119208, PacketsOut: 1083}},
		},
		{
			// Older kernels print "%6s:%8llu", which joins a long name to a
			// wide counter.
			name: "old format joins name and counter",
			data: devHeader + "wlan0:123456789012  900 0 0 0 0 0 0 77 5 0 0 0 0 0 0\n",
			want: []InterfaceCounters{{Name: "wlan0", BytesIn: 123456789012, PacketsIn: 900, BytesOut: 77, PacketsOut: 5}},
		},
		{
			// Counters are 64-bit on current kernels and must not be cut.
			name: "largest counter",
			data: "eth0: 18446744073709551615 1 0 0 0 0 0 0 2 3 0 0 0 0 0 0\n",
			want: []InterfaceCounters{{Name: "eth0", BytesIn: 18446744073709551615, PacketsIn: 1, BytesOut: 2, PacketsOut: 3}},
		},
		{
			// Only the fields read are required, as gopsutil tolerates short lines.
			name: "ten fields suffice",
			data: "eth0: 1 2 0 0 0 0 0 0 3 4\n",
			want: []InterfaceCounters{{Name: "eth0", BytesIn: 1, PacketsIn: 2, BytesOut: 3, PacketsOut: 4}},
		},
		{name: "header only", data: devHeader},
		{name: "empty", data: ""},
		{
			name: "blank lines and no final newline",
			data: "\n  lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n\n  eth0: 5 6 0 0 0 0 0 0 7 8 0 0 0 0 0 0",
			want: []InterfaceCounters{
				{Name: "lo", BytesIn: 1, PacketsIn: 1, BytesOut: 1, PacketsOut: 1},
				{Name: "eth0", BytesIn: 5, PacketsIn: 6, BytesOut: 7, PacketsOut: 8},
			},
		},
		{name: "no colon", data: "eth0 1 2 0 0 0 0 0 0 3 4\n", wantErr: true},
		{name: "no name", data: "  : 1 2 0 0 0 0 0 0 3 4\n", wantErr: true},
		{name: "too few counters", data: "eth0: 1 2 0 0 0 0 0 0 3\n", wantErr: true},
		{name: "not a number", data: "eth0: 1 x 0 0 0 0 0 0 3 4\n", wantErr: true},
		{name: "negative", data: "eth0: -1 2 0 0 0 0 0 0 3 4\n", wantErr: true},
		{name: "beyond 64 bits", data: "eth0: 18446744073709551616 2 0 0 0 0 0 0 3 4\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNetDev([]byte(tt.data))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseNetDev() error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseNetDev() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseNetDev() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseNetSockets(t *testing.T) {
	const tail = " 00000000:00000000 00:00000000 00000000     0        0 1596 1 00000000895dc80a 100 0 0 10 0\n"
	tests := []struct {
		name    string
		data    string
		want    []Socket
		wantErr bool
	}{
		{
			name: "IPv4 listener",
			data: "   0: 0100007F:0277 00000000:0000 0A" + tail,
			want: []Socket{{Protocol: TCP, State: StateListen, Local: ap("127.0.0.1:631"), Remote: ap("0.0.0.0:0")}},
		},
		{
			name: "IPv6 established",
			data: "   4: B80D0120000001000000000020000000:0016 B80D0120000002000000000099000000:EA60 01" + tail,
			want: []Socket{{Protocol: TCP, State: StateEstablished, Local: ap("[2001:db8:1::20]:22"), Remote: ap("[2001:db8:2::99]:60000")}},
		},
		{
			// The parser reports what the kernel says; unmapping is the
			// Collector's job.
			name: "IPv4-mapped stays mapped",
			data: "   5: 0000000000000000FFFF00001401A8C0:075B 0000000000000000FFFF0000097100CB:C3CB 01" + tail,
			want: []Socket{{Protocol: TCP, State: StateEstablished, Local: ap("[::ffff:192.168.1.20]:1883"), Remote: ap("[::ffff:203.0.113.9]:50123")}},
		},
		{
			// A short TIME_WAIT line still has the four fields read.
			name: "time-wait line",
			data: "   5: 0700000A:9C41 176433C6:01BB 06 00000000:00000000 03:00000290 00000000     0        0 0 3 000000003106102a\n",
			want: []Socket{{Protocol: TCP, State: 0x06, Local: ap("10.0.0.7:40001"), Remote: ap("198.51.100.23:443")}},
		},
		{name: "header only", data: "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"},
		{name: "empty", data: ""},
		{name: "too few fields", data: "   0: 0100007F:0277 00000000:0000\n", wantErr: true},
		{name: "address not hex", data: "   0: 0100007G:0277 00000000:0000 0A" + tail, wantErr: true},
		{name: "address length", data: "   0: 0100007F00:0277 00000000:0000 0A" + tail, wantErr: true},
		{name: "no port", data: "   0: 0100007F 00000000:0000 0A" + tail, wantErr: true},
		{name: "port beyond 16 bits", data: "   0: 0100007F:10000 00000000:0000 0A" + tail, wantErr: true},
		{name: "bad remote", data: "   0: 0100007F:0277 0000:0000 0A" + tail, wantErr: true},
		{name: "state not hex", data: "   0: 0100007F:0277 00000000:0000 ZZ" + tail, wantErr: true},
		{name: "state beyond 8 bits", data: "   0: 0100007F:0277 00000000:0000 100" + tail, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNetSockets([]byte(tt.data), TCP)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseNetSockets() error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseNetSockets() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseNetSockets() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestProcSourceFixture(t *testing.T) {
	src := ProcSource{Root: filepath.Join("testdata", "proc")}
	counters, err := src.Counters(t.Context())
	if err != nil {
		t.Fatalf("Counters() error = %v", err)
	}
	wantCounters := []InterfaceCounters{
		{Name: "lo", BytesIn: 3193, PacketsIn: 29, BytesOut: 3193, PacketsOut: 29},
		{Name: "eth0", BytesIn: 16179719, PacketsIn: 11044, BytesOut: 1119208, PacketsOut: 8083},
		{Name: "wlan0", BytesIn: 52311, PacketsIn: 410, BytesOut: 20480, PacketsOut: 301},
	}
	if !reflect.DeepEqual(counters, wantCounters) {
		t.Errorf("Counters() = %+v, want %+v", counters, wantCounters)
	}
	sockets, err := src.Sockets(t.Context())
	if err != nil {
		t.Fatalf("Sockets() error = %v", err)
	}
	wantCount := map[Protocol]int{TCP: 11 + 7, UDP: 5 + 3}
	for p, n := range wantCount {
		if got := countProtocol(sockets, p); got != n {
			t.Errorf("Sockets() has %d %v sockets, want %d", got, p, n)
		}
	}
}

func countProtocol(sockets []Socket, p Protocol) int {
	n := 0
	for _, s := range sockets {
		if s.Protocol == p {
			n++
		}
	}
	return n
}

// TestProcSourceMatchesGopsutil checks the parsers against gopsutil reading
// the same fixture, which decodes the kernel tables independently.
func TestProcSourceMatchesGopsutil(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("testdata", "proc"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(t.Context(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: root})
	stats, err := psnet.ConnectionsWithoutUidsWithContext(ctx, "inet")
	if err != nil {
		t.Fatalf("gopsutil connections: %v", err)
	}
	ours, err := ProcSource{Root: root}.Sockets(ctx)
	if err != nil {
		t.Fatalf("Sockets() error = %v", err)
	}
	if got, want := normalised(ours), normalised(SocketsFromStats(stats)); !slices.Equal(got, want) {
		t.Errorf("ProcSource sockets = %v\ngopsutil sockets = %v", got, want)
	}
	ioStats, err := psnet.IOCountersWithContext(ctx, true)
	if err != nil {
		t.Fatalf("gopsutil counters: %v", err)
	}
	counters, err := ProcSource{Root: root}.Counters(ctx)
	if err != nil {
		t.Fatalf("Counters() error = %v", err)
	}
	if want := CountersFromStats(ioStats); !reflect.DeepEqual(counters, want) {
		t.Errorf("ProcSource counters = %+v, gopsutil counters = %+v", counters, want)
	}
}

// normalised normalises sockets the way gopsutil reports them: unmapped
// addresses, no UDP state, no duplicates, sorted.
func normalised(sockets []Socket) []string {
	var out []string
	for _, s := range sockets {
		if s.Protocol == UDP {
			s.State = 0
		}
		local := netip.AddrPortFrom(s.Local.Addr().Unmap(), s.Local.Port())
		remote := netip.AddrPortFrom(s.Remote.Addr().Unmap(), s.Remote.Port())
		out = append(out, fmt.Sprintf("%v %v %v %02X", s.Protocol, local, remote, uint8(s.State)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestProcSourceWithoutIPv6(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"dev", "tcp", "udp"} {
		copyFixture(t, name, root)
	}
	sockets, err := ProcSource{Root: root}.Sockets(t.Context())
	if err != nil {
		t.Fatalf("Sockets() error = %v", err)
	}
	if got, want := len(sockets), 11+5; got != want {
		t.Errorf("Sockets() returned %d sockets, want %d", got, want)
	}
}

func copyFixture(t *testing.T, name, root string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "proc", "net", name))
	if err != nil {
		t.Fatal(err)
	}
	writeProcFile(t, root, name, string(data))
}

func writeProcFile(t *testing.T, root, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestProcSourceErrors(t *testing.T) {
	malformed := t.TempDir()
	writeProcFile(t, malformed, "dev", devHeader+"eth0: 1 2 3\n")
	writeProcFile(t, malformed, "tcp", "  sl  local_address\n   0: nonsense\n")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		root     string
		ctx      context.Context
		sockets  bool
		wantIs   error
		wantText string
	}{
		{name: "missing dev", root: t.TempDir(), ctx: t.Context(), wantIs: fs.ErrNotExist, wantText: "net/dev"},
		{name: "missing tcp", root: t.TempDir(), ctx: t.Context(), sockets: true, wantIs: fs.ErrNotExist, wantText: "net/tcp"},
		{name: "malformed dev", root: malformed, ctx: t.Context(), wantIs: ErrMalformed, wantText: "net/dev: line 3"},
		{name: "malformed tcp", root: malformed, ctx: t.Context(), sockets: true, wantIs: ErrMalformed, wantText: "net/tcp: line 2"},
		{name: "cancelled", root: malformed, ctx: cancelled, sockets: true, wantIs: context.Canceled, wantText: "net/tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := ProcSource{Root: tt.root}
			var err error
			if tt.sockets {
				_, err = src.Sockets(tt.ctx)
			} else {
				_, err = src.Counters(tt.ctx)
			}
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error = %v, want %v mentioning %q", err, tt.wantIs, tt.wantText)
			}
		})
	}
}

func TestProcSourceDefaultRoot(t *testing.T) {
	if got := (ProcSource{}).root(); got != DefaultProcRoot {
		t.Errorf("root() = %q, want %q", got, DefaultProcRoot)
	}
}

func ap(s string) netip.AddrPort {
	return netip.MustParseAddrPort(s)
}
