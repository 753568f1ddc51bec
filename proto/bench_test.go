package proto

import "testing"

// The benchmarks decode and encode typicalReport in every format and key
// style. Run them with
//
//	go test ./proto -run '^$' -bench . -benchmem -count 3
//
// The targets for decoding on the reference machine are 6 µs for JSON and
// 3 µs for CBOR.

func BenchmarkDecode(b *testing.B) {
	for _, f := range Formats {
		for _, s := range keyStyles {
			data, err := Encode(typicalReport(), f, s)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(f.String()+"/"+s.String(), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := Decode(f, data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	rep := typicalReport()
	for _, f := range Formats {
		for _, s := range keyStyles {
			data, err := Encode(rep, f, s)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(f.String()+"/"+s.String(), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := Encode(rep, f, s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeInto reads the typical report into a reused buffer, as a
// server that pools its buffers does.
func BenchmarkDecodeInto(b *testing.B) {
	for _, f := range Formats {
		for _, s := range keyStyles {
			data, err := Encode(typicalReport(), f, s)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(f.String()+"/"+s.String(), func(b *testing.B) {
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
	}
}
