package collect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// addSeeds adds the fixture files matching pattern to the corpus.
func addSeeds(f *testing.F, pattern string) {
	f.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds match %s: %v", pattern, err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzParseNetDev checks that ParseNetDev never panics, that it rejects only
// with ErrMalformed, and that what it accepts survives formatting and
// parsing again.
func FuzzParseNetDev(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "proc", "net", "dev"))
	addSeeds(f, filepath.Join("testdata", "netdev", "*", "*.dev"))
	for _, s := range []string{"", devHeader, "eth0:1 2 3 4 5 6 7 8 9 10", ":", "a: -1", "x|y\n:\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		counters, err := ParseNetDev(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseNetDev() error = %v, not ErrMalformed", err)
			}
			return
		}
		again, err := ParseNetDev([]byte(formatNetDev(counters)))
		if err != nil || !reflect.DeepEqual(again, counters) {
			t.Fatalf("round trip = %+v, %v; want %+v", again, err, counters)
		}
	})
}

func formatNetDev(counters []InterfaceCounters) string {
	var b strings.Builder
	b.WriteString(devHeader)
	for _, c := range counters {
		fmt.Fprintf(&b, "%6s: %d %d 0 0 0 0 0 0 %d %d 0 0 0 0 0 0\n", c.Name, c.BytesIn, c.PacketsIn, c.BytesOut, c.PacketsOut)
	}
	return b.String()
}

// FuzzParseNetTCP checks that ParseNetSockets never panics, that it rejects
// only with ErrMalformed, and that what it accepts survives formatting in the
// kernel's layout and parsing again.
func FuzzParseNetTCP(f *testing.F) {
	addSeeds(f, filepath.Join("testdata", "proc", "net", "[tu][cd]p*"))
	for _, s := range []string{"", "  sl\n", "0: 0:0 0:0 0", "0: 00000000:0 00000000:0 0", "0: " + strings.Repeat("F", 32) + ":FFFF x:y 1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sockets, err := ParseNetSockets(data, TCP)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseNetSockets() error = %v, not ErrMalformed", err)
			}
			return
		}
		again, err := ParseNetSockets([]byte(formatNetSockets(sockets)), TCP)
		if err != nil || !reflect.DeepEqual(again, sockets) {
			t.Fatalf("round trip = %+v, %v; want %+v", again, err, sockets)
		}
	})
}

func formatNetSockets(sockets []Socket) string {
	var b strings.Builder
	b.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	for i, s := range sockets {
		fmt.Fprintf(&b, "%4d: %s:%04X %s:%04X %02X 00000000:00000000 00:00000000 00000000     0        0 0 1\n",
			i, hexAddr(s.Local.Addr().AsSlice()), s.Local.Port(), hexAddr(s.Remote.Addr().AsSlice()), s.Remote.Port(), uint8(s.State))
	}
	return b.String()
}

// hexAddr prints an address as the kernel does: 32-bit words in host byte
// order.
func hexAddr(b []byte) string {
	var s strings.Builder
	for i := 0; i+4 <= len(b); i += 4 {
		fmt.Fprintf(&s, "%08X", binary.NativeEndian.Uint32(b[i:]))
	}
	return s.String()
}
