//go:build race

package proto

// raceEnabled is true when the tests run under the race detector.
const raceEnabled = true
