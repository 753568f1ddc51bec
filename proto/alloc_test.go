package proto

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"
)

// The allocation bound (allocLimit) is checked on every fuzz input; these
// tests pin it on the densest documents that fit the default size limit:
// lists of the smallest items that become the largest values.

// denseKinds builds, for n, a document whose bulk is n of one small item.
var denseKinds = map[string]func(n int) any{
	"numbers":       func(n int) any { return customDoc("number_list", repeat(int64(0), n)) },
	"empty strings": func(n int) any { return customDoc("string_list", repeat("", n)) },
	"IP addresses":  func(n int) any { return customDoc("ip_list", repeat("::", n)) },
	"ports": func(n int) any {
		return metricsDoc("listening_tcp_ports", "ports", repeat(any(object{{"port", int64(1)}}), n))
	},
	"connections":    func(n int) any { return tcpDoc(repeat(any(object{{"remote_addr", "[::]:0"}}), n)) },
	"custom metrics": manyCustomMetrics,
}

func repeat[T any](v T, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

var denseHeader = member{"header", object{{"report_id", int64(1)}, {"version", "1.0"}}}

func customDoc(key string, items []any) any {
	return object{denseHeader, {"custom_metrics", object{{"m", []any{object{{key, items}}}}}}}
}

func metricsDoc(list, key string, items []any) any {
	return object{denseHeader, {"metrics", object{{list, object{{key, items}}}}}}
}

func tcpDoc(items []any) any {
	return object{denseHeader, {"metrics", object{{"tcp_connections", object{{"established_connections", object{{"connections", items}}}}}}}}
}

func manyCustomMetrics(n int) any {
	metrics := make(object, n)
	for i := range metrics {
		metrics[i] = member{strconv.FormatInt(int64(i), 36), []any{object{{"number", int64(0)}}}}
	}
	return object{denseHeader, {"custom_metrics", metrics}}
}

// denseDocument encodes the largest document of a kind that fits the
// default size limit.
func denseDocument(t *testing.T, f Format, build func(int) any) []byte {
	t.Helper()
	encode := func(n int) []byte {
		data, err := marshalGeneric(build(n), f)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	small, large := encode(1000), encode(2000)
	per := float64(len(large)-len(small)) / 1000
	n := 1000 + int(float64(DefaultMaxReportSize-len(small))/per)
	for {
		if data := encode(n); len(data) <= DefaultMaxReportSize {
			return data
		}
		n -= n / 100
	}
}

// TestAllocationBound decodes the densest documents and checks that the
// allocation stays within allocLimit.
func TestAllocationBound(t *testing.T) {
	for name, build := range denseKinds {
		for _, f := range Formats {
			t.Run(name+"/"+f.String(), func(t *testing.T) {
				checkDenseDecode(t, f, denseDocument(t, f, build), true)
			})
		}
	}
}

// TestAllocationBoundIndefinite does the same for CBOR lists of indefinite
// length, whose size the decoder learns by counting the items ahead.
func TestAllocationBoundIndefinite(t *testing.T) {
	for name, item := range map[string][]byte{
		"numbers":       {0x00},
		"empty strings": {0x60},
		"IP addresses":  {0x62, ':', ':'},
	} {
		t.Run(name, func(t *testing.T) {
			key := map[string]string{"numbers": "number_list", "empty strings": "string_list", "IP addresses": "ip_list"}[name]
			prefix := cborCustomListPrefix(t, key)
			n := (DefaultMaxReportSize - len(prefix) - 2) / len(item) // 2: the list head and its break
			data := append(append(append(prefix, 0x9f), bytes.Repeat(item, n)...), 0xff)
			checkDenseDecode(t, CBOR, data, true)
		})
	}
}

// TestAllocationBoundLyingLength declares a list as long as the bytes left
// and fills it with items of the wrong type: the slice sized from the
// declared length is the only cost, and it stays within the bound.
func TestAllocationBoundLyingLength(t *testing.T) {
	for _, key := range []string{"number_list", "string_list", "ip_list"} {
		t.Run("cbor/"+key, func(t *testing.T) {
			prefix := cborCustomListPrefix(t, key)
			n := DefaultMaxReportSize - len(prefix) - 5
			data := append(binary.BigEndian.AppendUint32(append(prefix, 0x9a), uint32(n)), bytes.Repeat([]byte{0xf6}, n)...)
			checkDenseDecode(t, CBOR, data, false)
		})
		t.Run("msgpack/"+key, func(t *testing.T) {
			prefix := msgpackCustomListPrefix(t, key)
			n := DefaultMaxReportSize - len(prefix) - 5
			data := append(binary.BigEndian.AppendUint32(append(prefix, 0xdd), uint32(n)), bytes.Repeat([]byte{0xc0}, n)...)
			checkDenseDecode(t, MsgPack, data, false)
		})
	}
}

// cborCustomListPrefix encodes a report up to the list of custom metric
// "m" of the given value key, which the caller appends.
func cborCustomListPrefix(t *testing.T, key string) []byte {
	t.Helper()
	data, err := cborVectorMode.Marshal(object{denseHeader, {"custom_metrics", object{{"m", []any{object{{key, nil}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	return data[:len(data)-1] // drop the null value
}

func msgpackCustomListPrefix(t *testing.T, key string) []byte {
	t.Helper()
	data, err := marshalGeneric(object{denseHeader, {"custom_metrics", object{{"m", []any{object{{key, nil}}}}}}}, MsgPack)
	if err != nil {
		t.Fatal(err)
	}
	return data[:len(data)-1]
}

func checkDenseDecode(t *testing.T, f Format, data []byte, valid bool) {
	t.Helper()
	var err error
	n := allocatedBy(func() { _, err = Decode(f, data) })
	if valid && err != nil {
		t.Fatalf("%d bytes rejected: %v", len(data), err)
	}
	if !valid && err == nil {
		t.Fatalf("%d bytes accepted", len(data))
	}
	t.Logf("%d bytes allocated %d (%.1f per input byte)", len(data), n, float64(n)/float64(len(data)))
	if n > allocLimit(len(data)) {
		t.Errorf("%d bytes allocated %d, over %d", len(data), n, allocLimit(len(data)))
	}
}
