package proto

import (
	"errors"
	"net/netip"
	"unsafe"
)

// errBadAddr is the error of parseAddrPort and parseAddr. netip's own error
// is not passed on: it holds the text, which here is the caller's bytes.
var errBadAddr = errors.New("invalid IP address")

// bytesString views b as a string for netip, which keeps no part of it in
// what it returns (a zone is interned as a copy); only its error would, and
// that is dropped. Copying the bytes to a string would cost an allocation.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// parseAddrPort reads "ip:port" exactly as netip.ParseAddrPort does. The
// common form, an IPv4 address, is read from the bytes; passing them to
// netip as a string would cost an allocation, since netip's errors keep
// the string. Anything else goes to netip, over the same bytes.
func parseAddrPort(b []byte) (netip.AddrPort, error) {
	if ip, n, ok := parseIPv4Prefix(b); ok && n < len(b) && b[n] == ':' {
		if port, ok := parsePort(b[n+1:]); ok {
			return netip.AddrPortFrom(ip, port), nil
		}
	}
	ap, err := netip.ParseAddrPort(bytesString(b))
	if err != nil {
		return netip.AddrPort{}, errBadAddr
	}
	return ap, nil
}

// parseAddr reads an IP address exactly as netip.ParseAddr does, reading an
// IPv4 address from the bytes as parseAddrPort does.
func parseAddr(b []byte) (netip.Addr, error) {
	if ip, n, ok := parseIPv4Prefix(b); ok && n == len(b) {
		return ip, nil
	}
	ip, err := netip.ParseAddr(bytesString(b))
	if err != nil {
		return netip.Addr{}, errBadAddr
	}
	return ip, nil
}

// parseIPv4Prefix reads a dotted-quad IPv4 address at the start of b, in
// the form netip accepts (four decimal fields of 0 to 255, no leading
// zeros), and returns it with its length. ok is false when b does not start
// with one; netip then decides.
func parseIPv4Prefix(b []byte) (ip netip.Addr, n int, ok bool) {
	var quad [4]byte
	for k := range quad {
		if k > 0 {
			if n >= len(b) || b[n] != '.' {
				return netip.Addr{}, 0, false
			}
			n++
		}
		v, digits := 0, 0
		for _, c := range b[n:min(n+3, len(b))] {
			if c-'0' > 9 {
				break
			}
			v, digits = v*10+int(c-'0'), digits+1
		}
		if digits == 0 || v > 255 || (digits > 1 && b[n] == '0') {
			return netip.Addr{}, 0, false
		}
		quad[k], n = byte(v), n+digits
	}
	return netip.AddrFrom4(quad), n, true
}

// parsePort reads a port of 1 to 5 decimal digits, at most 65535. ok is
// false for anything else, which netip then decides on.
func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v > 65535 {
		return 0, false
	}
	return uint16(v), true
}
