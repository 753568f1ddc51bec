package collect

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultProcRoot is the mount point of the proc file system that a
// ProcSource with an empty Root reads.
const DefaultProcRoot = "/proc"

// ErrMalformed is wrapped by every error that reports a /proc/net table the
// parsers cannot read.
var ErrMalformed = errors.New("malformed proc table")

// ProcSource reads the kernel's network tables from files under a proc file
// system root: Root/net/dev, Root/net/tcp, Root/net/tcp6, Root/net/udp and
// Root/net/udp6. The IPv6 tables are optional, since kernels built without
// IPv6 do not have them.
type ProcSource struct {
	// Root is the directory holding the net directory; empty means
	// DefaultProcRoot.
	Root string
}

var _ Source = ProcSource{}

// socketTable names one /proc/net socket table.
type socketTable struct {
	name     string
	protocol Protocol
	optional bool
}

var socketTables = []socketTable{
	{name: "tcp", protocol: TCP},
	{name: "tcp6", protocol: TCP, optional: true},
	{name: "udp", protocol: UDP},
	{name: "udp6", protocol: UDP, optional: true},
}

// Counters parses Root/net/dev.
func (s ProcSource) Counters(ctx context.Context) ([]InterfaceCounters, error) {
	data, path, err := s.read(ctx, "dev", false)
	if err != nil {
		return nil, err
	}
	counters, err := ParseNetDev(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return counters, nil
}

// Sockets parses the TCP and UDP tables under Root/net, IPv4 then IPv6.
func (s ProcSource) Sockets(ctx context.Context) ([]Socket, error) {
	var all []Socket
	for _, table := range socketTables {
		sockets, err := s.sockets(ctx, table)
		if err != nil {
			return nil, err
		}
		all = append(all, sockets...)
	}
	return all, nil
}

func (s ProcSource) sockets(ctx context.Context, table socketTable) ([]Socket, error) {
	data, path, err := s.read(ctx, table.name, table.optional)
	if err != nil {
		return nil, err
	}
	sockets, err := ParseNetSockets(data, table.protocol)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return sockets, nil
}

// read returns the content of Root/net/name and its path. A missing optional
// file reads as empty.
func (s ProcSource) read(ctx context.Context, name string, optional bool) ([]byte, string, error) {
	path := filepath.Join(s.root(), "net", name)
	if err := ctx.Err(); err != nil {
		return nil, path, fmt.Errorf("read %s: %w", path, err)
	}
	data, err := os.ReadFile(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	return data, path, err
}

func (s ProcSource) root() string {
	if s.Root == "" {
		return DefaultProcRoot
	}
	return s.Root
}

// Field positions in a /proc/net/dev line, counted after the interface name.
const (
	devBytesIn    = 0
	devPacketsIn  = 1
	devBytesOut   = 8
	devPacketsOut = 9
	devMinFields  = devPacketsOut + 1
)

// ParseNetDev parses the content of /proc/net/dev. Header lines (those
// containing '|') and blank lines are skipped; any other line must name an
// interface and hold at least the receive and transmit byte and packet
// counters, or an error wrapping ErrMalformed is returned.
func ParseNetDev(data []byte) ([]InterfaceCounters, error) {
	var counters []InterfaceCounters
	n := 0
	for line := range bytes.Lines(data) {
		n++
		if isNetDevHeader(line) {
			continue
		}
		c, err := parseNetDevLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		counters = append(counters, c)
	}
	return counters, nil
}

func isNetDevHeader(line []byte) bool {
	return bytes.IndexByte(line, '|') >= 0 || len(bytes.TrimSpace(line)) == 0
}

func parseNetDevLine(line string) (InterfaceCounters, error) {
	name, rest, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return InterfaceCounters{}, fmt.Errorf("%w: no interface name", ErrMalformed)
	}
	fields := strings.Fields(rest)
	if len(fields) < devMinFields {
		return InterfaceCounters{}, fmt.Errorf("%w: interface %q has %d counters, want at least %d",
			ErrMalformed, name, len(fields), devMinFields)
	}
	values, err := parseCounters(fields, devBytesIn, devBytesOut, devPacketsIn, devPacketsOut)
	if err != nil {
		return InterfaceCounters{}, fmt.Errorf("interface %q: %w", name, err)
	}
	return InterfaceCounters{Name: name, BytesIn: values[0], BytesOut: values[1],
		PacketsIn: values[2], PacketsOut: values[3]}, nil
}

// parseCounters parses the decimal fields at the given positions.
func parseCounters(fields []string, positions ...int) ([]uint64, error) {
	values := make([]uint64, len(positions))
	for i, p := range positions {
		v, err := strconv.ParseUint(fields[p], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: counter %d: %w", ErrMalformed, p+1, err)
		}
		values[i] = v
	}
	return values, nil
}

// ParseNetSockets parses the content of /proc/net/tcp, tcp6, udp or udp6,
// giving every socket the protocol p. The header line and blank lines are
// skipped; any other line must hold a slot number, local and remote addresses
// and a state, or an error wrapping ErrMalformed is returned. Addresses are
// decoded in the byte order of the machine running the parser, as the kernel
// prints them.
func ParseNetSockets(data []byte, p Protocol) ([]Socket, error) {
	var sockets []Socket
	n := 0
	for line := range bytes.Lines(data) {
		n++
		fields := strings.Fields(string(line))
		if len(fields) == 0 || fields[0] == "sl" {
			continue
		}
		s, err := parseSocketFields(fields, p)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		sockets = append(sockets, s)
	}
	return sockets, nil
}

func parseSocketFields(fields []string, p Protocol) (Socket, error) {
	if len(fields) < 4 {
		return Socket{}, fmt.Errorf("%w: %d fields, want at least 4", ErrMalformed, len(fields))
	}
	local, err := parseHexAddrPort(fields[1])
	if err != nil {
		return Socket{}, fmt.Errorf("local address: %w", err)
	}
	remote, err := parseHexAddrPort(fields[2])
	if err != nil {
		return Socket{}, fmt.Errorf("remote address: %w", err)
	}
	state, err := strconv.ParseUint(fields[3], 16, 8)
	if err != nil {
		return Socket{}, fmt.Errorf("%w: state %q", ErrMalformed, fields[3])
	}
	return Socket{Protocol: p, State: State(state), Local: local, Remote: remote}, nil
}

// parseHexAddrPort parses an address as the kernel prints it, such as
// "0100007F:0016" for 127.0.0.1:22 on a little-endian machine.
func parseHexAddrPort(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%w: %q has no port", ErrMalformed, s)
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: port in %q", ErrMalformed, s)
	}
	addr, err := parseHexAddr(hexAddr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// parseHexAddr parses an IPv4 address of 8 or an IPv6 address of 32
// hexadecimal digits.
func parseHexAddr(s string) (netip.Addr, error) {
	switch len(s) {
	case 8:
		var b [4]byte
		err := decodeWords(b[:], s)
		return netip.AddrFrom4(b), err
	case 32:
		var b [16]byte
		err := decodeWords(b[:], s)
		return netip.AddrFrom16(b), err
	}
	return netip.Addr{}, fmt.Errorf("%w: address %q has %d digits, want 8 or 32", ErrMalformed, s, len(s))
}

// decodeWords fills dst, whose length is a multiple of four, from s, which
// holds 32-bit words in hexadecimal as the kernel prints them from memory in
// host byte order. Storing each word back in host byte order restores the
// address's network byte order.
func decodeWords(dst []byte, s string) error {
	for i := 0; i < len(dst); i += 4 {
		w, err := strconv.ParseUint(s[2*i:2*i+8], 16, 32)
		if err != nil {
			return fmt.Errorf("%w: address %q", ErrMalformed, s)
		}
		binary.NativeEndian.PutUint32(dst[i:], uint32(w))
	}
	return nil
}
