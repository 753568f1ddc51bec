package alert

import (
	"net/http"
	"strconv"
	"time"
)

// backoff is the wait after the given number of failures in a row: first
// initial, doubling up to ceiling, and jittered (jitter in [0, 1)) between
// half and all of that.
func backoff(initial, ceiling time.Duration, failures int, jitter float64) time.Duration {
	d := initial
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return d/2 + time.Duration(jitter*float64(d-d/2))
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date,
// as a wait from now; 0 when there is none or it is not valid.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
