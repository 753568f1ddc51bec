package proto

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"testing"
)

var keyStyles = []KeyStyle{LongKeys, ShortKeys}

// unlimited lifts the size limit, for re-encodings that may grow past it
// (a compact CBOR report written as long-key JSON).
var unlimited = DecodeOptions{MaxSize: math.MaxInt}

// checkRoundTrip encodes a valid report in every format and key style, and
// checks that each decodes to the same report and encodes to the same
// bytes again.
func checkRoundTrip(t testing.TB, want *Report) {
	t.Helper()
	for _, f := range Formats {
		for _, s := range keyStyles {
			data, err := Encode(want, f, s)
			if err != nil {
				t.Fatalf("encode %v/%v: %v", f, s, err)
			}
			got, err := unlimited.Decode(f, data)
			if err != nil {
				t.Fatalf("decode %v/%v: %v\ndocument: %s", f, s, err, printable(f, data))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%v/%v round trip changed the report\ngot  %s\nwant %s", f, s, goldenText(t, got, nil), goldenText(t, want, nil))
			}
			again, err := Encode(got, f, s)
			if err != nil || !bytes.Equal(again, data) {
				t.Fatalf("%v/%v: re-encoding differs (%v)", f, s, err)
			}
		}
	}
}

// printable shows a document for a failure message.
func printable(f Format, data []byte) string {
	if f == JSON {
		return string(data)
	}
	return fmt.Sprintf("% x", data)
}

// TestRoundTripRandom checks, for random valid reports, that encoding in
// any format and key style and decoding gives the report back.
func TestRoundTripRandom(t *testing.T) {
	for seed := range uint64(400) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rep := newReportGen(seed).report()
			if err := rep.Validate(); err != nil {
				t.Fatalf("generated report is invalid: %v\n%s", err, goldenText(t, rep, nil))
			}
			checkRoundTrip(t, rep)
		})
	}
}

// TestRoundTripEdges pins the values a random draw may miss.
func TestRoundTripEdges(t *testing.T) {
	for name, rep := range map[string]*Report{
		"typical": typicalReport(),
		"custom only, empty": {
			Header:        Header{ReportID: 1, Version: "1.0"},
			CustomMetrics: []CustomMetric{},
		},
		"metrics only, empty": {
			Header:  Header{ReportID: math.MaxInt64, Version: "1.99"},
			Metrics: &Metrics{},
		},
		"empty lists": {
			Header: Header{ReportID: 7, Version: "1.0"},
			Metrics: &Metrics{
				ListeningTCPPorts: &PortList{Ports: []Port{}},
				ListeningUDPPorts: &PortList{Ports: []Port{}, Total: Count(0)},
				TCPConnections:    &TCPConnections{EstablishedConnections: &EstablishedConnections{Connections: []Connection{}}},
			},
			CustomMetrics: []CustomMetric{
				{"i", CustomValue{Type: CustomIPList, IPs: []netip.Addr{}}},
				{"n", CustomValue{Type: CustomNumberList, Numbers: []float64{}}},
				{"s", CustomValue{Type: CustomStringList, Strings: []string{}}},
			},
		},
		"maximum counts": {
			Header: Header{ReportID: math.MaxInt64, Version: "1.0"},
			Metrics: &Metrics{
				NetworkStats: &NetworkStats{BytesIn: Count(math.MaxUint64), BytesOut: Count(math.MaxUint64 - 1), PacketsIn: Count(1 << 63), PacketsOut: Count(0)},
			},
		},
	} {
		t.Run(name, func(t *testing.T) { checkRoundTrip(t, rep) })
	}
}

// FuzzRoundTrip decodes arbitrary input in the format its first byte
// selects and, when the input is accepted, checks that the report survives
// encoding in every format and key style. Run it longer with
//
//	go test ./proto -run '^$' -fuzz '^FuzzRoundTrip$' -fuzztime 30s
func FuzzRoundTrip(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(byte(s.format), s.data)
	}
	f.Fuzz(func(t *testing.T, selector byte, data []byte) {
		format := Formats[int(selector)%len(Formats)]
		rep, err := Decode(format, data)
		if err != nil {
			return
		}
		checkRoundTrip(t, rep)
	})
}
