package proto

import (
	"net/netip"
	"testing"
)

// The fast IPv4 path of parseAddrPort and parseAddr must agree with netip
// on every input: same value, same acceptance.

var addrSeeds = []string{
	"192.168.0.1:8000", "0.0.0.0:0", "255.255.255.255:65535", "1.2.3.4:080", "1.2.3.4:00080", "1.2.3.4:000080",
	"1.2.3.4:65536", "1.2.3.4:", "1.2.3.4", "1.2.3.4:+1", "1.2.3.4:-1", "01.2.3.4:1", "1.2.3.04:1", "256.1.1.1:1",
	"1.2.3:4", "1.2.3.4.5:6", "1234.1.1.1:1", "[::1]:443", "[fe80::1%eth0]:22", "::1:443", "[1.2.3.4]:80", "host:80",
	"", ":", "1.2.3.4:1 ", " 1.2.3.4:1", "1.2.3.4%eth0", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4:99999",
}

func FuzzParseAddrPort(f *testing.F) {
	for _, s := range addrSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkAddrParsers(t, s) })
}

func checkAddrParsers(t *testing.T, s string) {
	t.Helper()
	got, err := parseAddrPort([]byte(s))
	want, werr := netip.ParseAddrPort(s)
	if (err == nil) != (werr == nil) || got != want {
		t.Errorf("parseAddrPort(%q) = %v, %v; netip says %v, %v", s, got, err, want, werr)
	}
	ip, err := parseAddr([]byte(s))
	wantIP, werr := netip.ParseAddr(s)
	if (err == nil) != (werr == nil) || ip != wantIP {
		t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", s, ip, err, wantIP, werr)
	}
}

func TestAddrParsersAgreeWithNetip(t *testing.T) {
	for _, s := range addrSeeds {
		checkAddrParsers(t, s)
	}
	g := newReportGen(1)
	for range 2000 {
		ap := netip.AddrPortFrom(g.addr(), g.port(0))
		checkAddrParsers(t, ap.String())
		checkAddrParsers(t, ap.Addr().String())
	}
}
