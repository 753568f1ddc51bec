//go:build linux

package proto

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDecodeCPU is BenchmarkDecode that also reports the on-CPU time
// of the decoding thread per decode, as cpu-ns/op. Other work on a shared
// machine stretches wall-clock time far more than it does this figure,
// which leaves out the time the thread waits for a core and the garbage
// collector's background work on other threads.
//
//	go test ./proto -run '^$' -bench DecodeCPU -count 10
func BenchmarkDecodeCPU(b *testing.B) {
	eachTypical(b, func(b *testing.B, f Format, _ KeyStyle, data []byte) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		n, start := 0, threadCPUTime(b)
		for b.Loop() {
			if _, err := Decode(f, data); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(threadCPUTime(b)-start)/float64(n), "cpu-ns/op")
	})
}

// threadCPUTime returns the CPU time the calling thread has used. Its
// resolution may be as coarse as the scheduler's tick, a few milliseconds,
// which is small against a benchmark's second.
func threadCPUTime(b *testing.B) time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatalf("thread CPU time: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
