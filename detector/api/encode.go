package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		w.Header().Set("x-amzn-ErrorType", InternalFailure)
		data = []byte(`{"message":"internal failure: the response could not be encoded"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n')) // the client has gone if this fails
}

// empty is the {} that AWS answers to calls that return nothing.
type empty struct{}

// epochSeconds is an instant in epoch milliseconds, written to JSON as AWS
// REST APIs write times: epoch seconds with a fraction (1600780245.29).
type epochSeconds int64

// secondsOf converts a time.
func secondsOf(t time.Time) epochSeconds { return epochSeconds(t.UnixMilli()) }

// MarshalJSON writes seconds with at least one and at most three decimals.
func (ms epochSeconds) MarshalJSON() ([]byte, error) {
	var out []byte
	if ms < 0 {
		out, ms = append(out, '-'), -ms
	}
	digits := strings.TrimRight(strconv.FormatInt(1000+int64(ms)%1000, 10)[1:], "0")
	if digits == "" {
		digits = "0"
	}
	out = strconv.AppendInt(out, int64(ms)/1000, 10)
	return append(append(out, '.'), digits...), nil
}
