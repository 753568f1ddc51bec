package api

import (
	"encoding/base64"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Page sizes of the list calls, as in AWS.
const (
	DefaultMaxResults = 100
	MaxMaxResults     = 250
)

// page is where a list call starts and how much it returns.
type page struct {
	listing string // the listing the token belongs to
	after   string // the key of the last item of the previous page
	max     int
}

// pageOf reads maxResults and nextToken. A token is the base64 of the
// listing's name and the last key returned, so that a token from another
// listing, or no token at all, is refused.
func pageOf(r *http.Request, listing string) (page, error) {
	p := page{listing: listing, max: DefaultMaxResults}
	q := r.URL.Query()
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxMaxResults {
			return p, invalid("maxResults: must be an integer from 1 to %d, got %q", MaxMaxResults, s)
		}
		p.max = n
	}
	if tok := q.Get("nextToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		name, after, ok := strings.Cut(string(raw), "\x00")
		if err != nil || !ok || name != listing {
			return p, invalid("nextToken: not a token from this listing; start again without it")
		}
		p.after = after
	}
	return p, nil
}

// token makes the token that continues after key.
func (p page) token(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p.listing + "\x00" + key))
}

// paginate returns the page of items, which are sorted by key, and the
// token of the next page ("" on the last).
func paginate[T any](items []T, key func(T) string, p page) ([]T, string) {
	start := 0
	if p.after != "" {
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > p.after })
	}
	end := min(start+p.max, len(items))
	if end == len(items) {
		return items[start:end], ""
	}
	return items[start:end], p.token(key(items[end-1]))
}

// boolParam reads an optional true/false query parameter.
func boolParam(r *http.Request, name string) (*bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, invalid("%s: must be true or false, got %q", name, s)
	}
	return &b, nil
}

// versionParam reads the optional expectedVersion query parameter.
func versionParam(r *http.Request) (*int64, error) {
	s := r.URL.Query().Get("expectedVersion")
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return nil, invalid("expectedVersion: must be a positive integer, got %q", s)
	}
	return &v, nil
}

// requiredParam reads a query parameter that must be given.
func requiredParam(r *http.Request, name string) (string, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return "", invalid("%s: is required", name)
	}
	return s, nil
}

// timeParam reads a required time: epoch seconds, with a fraction or not
// (as AWS writes times), or RFC 3339 (as the AWS CLI sends them).
func timeParam(r *http.Request, name string) (time.Time, error) {
	s, err := requiredParam(r, name)
	if err != nil {
		return time.Time{}, err
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) < 1e12 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, invalid("%s: want epoch seconds (1700000000.5) or RFC 3339 (2023-11-14T22:13:20Z), got %q", name, s)
}

// timeRange reads the required startTime and endTime of a listing; the end
// must come after the start.
func timeRange(r *http.Request) (start, end time.Time, err error) {
	if start, err = timeParam(r, "startTime"); err != nil {
		return start, end, err
	}
	if end, err = timeParam(r, "endTime"); err != nil {
		return start, end, err
	}
	if !end.After(start) {
		return start, end, invalid("endTime: must be after startTime")
	}
	return start, end, nil
}
