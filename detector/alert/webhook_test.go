package alert

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSign checks the signature against values computed independently
// (Python's hmac module).
func TestSign(t *testing.T) {
	tests := []struct {
		secret, body, want string
	}{
		{"It is a secret of 16+", `{"violationId":"abc"}`, "sha256=5606bdab860208124034b4ce0b0c39c4afb5a142c2766c94397445c027f8b7eb"},
		{"", "", "sha256=b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
	}
	for _, tt := range tests {
		if got := Sign(tt.secret, []byte(tt.body)); got != tt.want {
			t.Errorf("Sign(%q, %q) = %s, want %s", tt.secret, tt.body, got, tt.want)
		}
		if !Verify(tt.secret, []byte(tt.body), tt.want) {
			t.Errorf("Verify rejects the right signature of %q", tt.body)
		}
		if Verify(tt.secret+"x", []byte(tt.body), tt.want) || Verify(tt.secret, []byte(tt.body+" "), tt.want) {
			t.Errorf("Verify accepts a signature made with another secret or body")
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		jitter   float64
		want     time.Duration
	}{
		{1, 0, 500 * time.Millisecond}, // half of the first wait
		{1, 0.999999999, time.Second},  // about all of it
		{2, 0, time.Second},
		{3, 0.5, 3 * time.Second},   // 4 s: between 2 and 4
		{9, 0, 128 * time.Second},   // 256 s
		{10, 0, 150 * time.Second},  // 512 s capped at 300
		{500, 0, 150 * time.Second}, // no overflow however long the outage
	}
	for _, tt := range tests {
		got := backoff(time.Second, 5*time.Minute, tt.failures, tt.jitter)
		if got.Round(time.Millisecond) != tt.want {
			t.Errorf("backoff(failures %d, jitter %v) = %v, want %v", tt.failures, tt.jitter, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("Retry-After %q: %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestPostRedirects follows a 307 or 308 on the same host, and refuses
// other redirects and any redirect to another host.
func TestPostRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {})
	redirect := func(path string, code int, to string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, code) })
	}
	redirect("/temporary", http.StatusTemporaryRedirect, "/ok")
	redirect("/permanent", http.StatusPermanentRedirect, "/ok")
	redirect("/found", http.StatusFound, "/ok")
	redirect("/elsewhere", http.StatusTemporaryRedirect, other.URL+"/ok")
	redirect("/loop", http.StatusTemporaryRedirect, "/loop")
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		path string
		ok   bool
	}{
		{"/ok", true}, {"/temporary", true}, {"/permanent", true},
		{"/found", false}, {"/elsewhere", false}, {"/loop", false},
	}
	client := NewClient(10 * time.Second)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e := &entry{record: record{Key: "k", Payload: []byte(`{}`)}}
			a := post(context.Background(), client, Webhook{URL: srv.URL + tt.path, Secret: "s"}, e, time.Now())
			if (a.err == nil) != tt.ok {
				t.Fatalf("post to %s: %v, want ok=%v", tt.path, a.err, tt.ok)
			}
		})
	}
}

// TestPostErrorsHideTokens keeps a URL's query out of the error the logs
// show, and names the status a receiver answered.
func TestPostErrorsHideTokens(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	url := srv.URL
	e := &entry{record: record{Key: "k", Payload: []byte(`{}`)}}
	a := post(context.Background(), NewClient(10*time.Second), Webhook{URL: url + "/hook?token=hunter2"}, e, time.Now())
	if a.err == nil || !strings.Contains(a.err.Error(), "503") || a.wait != 7*time.Second {
		t.Fatalf("got %v, wait %v; want a 503 error and a 7 s wait", a.err, a.wait)
	}
	srv.Close()
	a = post(context.Background(), NewClient(10*time.Second), Webhook{URL: url + "/hook?token=hunter2"}, e, time.Now())
	if a.err == nil || strings.Contains(a.err.Error(), "hunter2") || !strings.Contains(a.err.Error(), "/hook") {
		t.Fatalf("error %q: want one naming the path without the token", fmt.Sprint(a.err))
	}
}

// TestPostVerifiesTLS refuses a receiver whose certificate the system does
// not trust.
func TestPostVerifiesTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	e := &entry{record: record{Key: "k", Payload: []byte(`{}`)}}
	a := post(context.Background(), NewClient(10*time.Second), Webhook{URL: srv.URL, Secret: "s"}, e, time.Now())
	if a.err == nil || !strings.Contains(a.err.Error(), "certificate") {
		t.Fatalf("post to a self-signed receiver: %v, want a certificate error", a.err)
	}
}
