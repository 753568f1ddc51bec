package alert

import "time"

// Clock is the time source of the delivery loop: backoff waits and ages.
// Tests replace it to run hours of retries in seconds.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// realClock is the system clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
