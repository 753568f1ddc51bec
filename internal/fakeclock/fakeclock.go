// Package fakeclock is a clock for tests of loops that wait: whenever a
// timer is waited for, the clock jumps to its deadline a moment later, so
// hours of backoff pass in milliseconds of real time while the loop under
// test runs for real.
package fakeclock

import (
	"sync"
	"time"
)

// DefaultDelay is the real time a timer takes to fire.
const DefaultDelay = time.Millisecond

// Clock is a simulated clock; it is safe for concurrent use.
type Clock struct {
	mu    sync.Mutex
	now   time.Time
	delay time.Duration
}

// New returns a clock set to start whose timers fire after DefaultDelay of
// real time.
func New(start time.Time) *Clock { return &Clock{now: start, delay: DefaultDelay} }

// Now returns the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t, forward or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// After returns a channel that receives the simulated time once it is d
// later: after a short real delay, the clock jumps forward to that
// deadline if it is not there yet. Timers nobody waits for any more still
// move the clock: simulated time only runs faster.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	deadline := c.Now().Add(d)
	time.AfterFunc(c.delay, func() {
		c.mu.Lock()
		if deadline.After(c.now) {
			c.now = deadline
		}
		now := c.now
		c.mu.Unlock()
		ch <- now
	})
	return ch
}
