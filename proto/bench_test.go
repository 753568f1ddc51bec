package proto

import "testing"

// The benchmarks decode and encode typicalReport in every format and key
// style. Run them with
//
//	go test ./proto -run '^$' -bench . -benchmem -count 3
//
// The targets for decoding on the reference machine are 6 µs for JSON and
// 3 µs for CBOR.

// eachTypical runs fn as a sub-benchmark for every format and key style,
// with the typical report encoded that way.
func eachTypical(b *testing.B, fn func(b *testing.B, f Format, s KeyStyle, data []byte)) {
	for _, f := range Formats {
		for _, s := range keyStyles {
			data, err := Encode(typicalReport(), f, s)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(f.String()+"/"+s.String(), func(b *testing.B) { fn(b, f, s, data) })
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	eachTypical(b, func(b *testing.B, f Format, _ KeyStyle, data []byte) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(f, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	rep := typicalReport()
	eachTypical(b, func(b *testing.B, f Format, s KeyStyle, data []byte) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Encode(rep, f, s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeInto reads the typical report into a reused buffer, as a
// server that pools its buffers does.
func BenchmarkDecodeInto(b *testing.B) {
	eachTypical(b, func(b *testing.B, f Format, _ KeyStyle, data []byte) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var buf ReportBuffer
		for b.Loop() {
			if _, err := (DecodeOptions{}).DecodeInto(&buf, f, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
