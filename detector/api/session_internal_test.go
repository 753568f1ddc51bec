package api

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// clockGate is a gate over a handler that answers 200, with a clock the
// test moves.
func clockGate(lifetime time.Duration) (*gate, *time.Time) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	g := &gate{tokens: newTokenSet(Tokens{Admin: []string{"admin-token-0123456789"}}), sessions: newSessions(lifetime, func() time.Time { return now }),
		log: zerolog.Nop(), next: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })}
	return g, &now
}

func serve(g *gate, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

// TestSessionExpiry: a session is good until its lifetime ends, not a
// second more, and the cookie's Max-Age says the same.
func TestSessionExpiry(t *testing.T) {
	g, now := clockGate(time.Hour)
	in := httptest.NewRequest(http.MethodPost, SessionPath, strings.NewReader(`{"token":"admin-token-0123456789"}`))
	in.Header.Set(RequestHeader, "1")
	w := serve(g, in)
	cookies := w.Result().Cookies()
	if w.Code != http.StatusOK || len(cookies) != 1 || cookies[0].MaxAge != 3600 {
		t.Fatalf("sign in: %d %s %v", w.Code, w.Body, cookies)
	}
	for _, tc := range []struct {
		after  time.Duration
		status int
	}{
		{0, 200}, {59 * time.Minute, 200}, {time.Hour - time.Second, 200}, {time.Hour, 401}, {48 * time.Hour, 401},
	} {
		at := now.Add(tc.after)
		g.sessions.now = func() time.Time { return at }
		r := httptest.NewRequest(http.MethodGet, "/api/things", nil)
		r.AddCookie(cookies[0])
		if got := serve(g, r); got.Code != tc.status {
			t.Errorf("%v after sign-in: status %d, want %d: %s", tc.after, got.Code, tc.status, got.Body)
		}
	}
}

// TestSessionRevocationsForgotten: a signed-out session is remembered only
// until it would have expired, so that sign-outs do not grow the memory.
func TestSessionRevocationsForgotten(t *testing.T) {
	g, now := clockGate(time.Hour)
	start := *now
	for i := range 5 {
		at := start.Add(time.Duration(i) * 30 * time.Minute)
		g.sessions.now = func() time.Time { return at }
		v, _ := g.sessions.issue(adminAccess)
		g.sessions.revoke(v)
		if a, _ := g.sessions.verify(v); a != noAccess {
			t.Fatalf("a signed-out session is still good")
		}
	}
	if n := len(g.sessions.revoked); n > 3 {
		t.Errorf("%d revocations remembered, want at most the 3 sessions not yet expired", n)
	}
}

// TestSessionCookieOverHTTPS: over HTTPS the cookie is Secure and named
// with the __Host- prefix, and the plain name is not read.
func TestSessionCookieOverHTTPS(t *testing.T) {
	g, _ := clockGate(time.Hour)
	in := httptest.NewRequest(http.MethodPost, SessionPath, strings.NewReader(`{"token":"admin-token-0123456789"}`))
	in.TLS = &tls.ConnectionState{}
	in.Header.Set(RequestHeader, "1")
	cookies := serve(g, in).Result().Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || cookies[0].Name != secureSessionCookie {
		t.Fatalf("cookie over HTTPS: %+v", cookies)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/things", nil)
	r.TLS = &tls.ConnectionState{}
	r.AddCookie(cookies[0])
	if w := serve(g, r); w.Code != 200 {
		t.Fatalf("HTTPS session: %d %s", w.Code, w.Body)
	}
	plain := *cookies[0]
	plain.Name = sessionCookie
	r = httptest.NewRequest(http.MethodGet, "/api/things", nil)
	r.TLS = &tls.ConnectionState{}
	r.AddCookie(&plain)
	if w := serve(g, r); w.Code != 401 {
		t.Fatalf("plain cookie name over HTTPS: %d", w.Code)
	}
}

// FuzzSessionCookie sends any cookie value: the gate must never panic nor
// let a request through without a value it issued.
func FuzzSessionCookie(f *testing.F) {
	g, _ := clockGate(time.Hour)
	good, _ := g.sessions.issue(adminAccess)
	for _, seed := range []string{"", ".", good, good + "x", "x" + good, strings.Replace(good, ".", "", 1), "AQI.AAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/api/things", nil)
		r.Header.Set("Cookie", sessionCookie+"="+value)
		w := serve(g, r)
		if c, err := r.Cookie(sessionCookie); w.Code == 200 && (err != nil || c.Value != good) {
			t.Fatalf("cookie %q let a request through", value)
		}
	})
}

// TestSessionEndsLongRequests: a request made with the session cookie (the
// event stream) ends when the session does.
func TestSessionEndsLongRequests(t *testing.T) {
	g, _ := clockGate(time.Hour)
	value, expires := g.sessions.issue(adminAccess)
	late := expires.Add(-100 * time.Millisecond)
	g.sessions.now = func() time.Time { return late }
	ended := make(chan error, 1)
	g.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-time.After(10 * time.Second):
			ended <- nil
		}
	})
	r := httptest.NewRequest(http.MethodGet, "/api/violation-events/stream", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
	serve(g, r)
	if err := <-ended; err != context.DeadlineExceeded {
		t.Fatalf("stream at %v with a session ending at %v: ended with %v, want the deadline", late, expires, err)
	}
}
