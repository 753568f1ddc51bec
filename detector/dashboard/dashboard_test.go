package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-iot/vigil/detector/dashboard"
)

func TestHandler(t *testing.T) {
	h := dashboard.New()
	tests := []struct {
		name, method, path string
		status             int
		contentType        string
		contains           string
	}{
		{"page", "GET", "/", 200, "text/html", `<script src="/assets/app.js" defer></script>`},
		{"page by name redirects to /", "GET", "/index.html", 301, "", ""},
		{"router", "GET", "/assets/app.js", 200, "text/javascript", "routes"},
		{"shared parts", "GET", "/assets/core.js", 200, "text/javascript", "violation-events/stream"},
		{"charts", "GET", "/assets/chart.js", 200, "text/javascript", "VigilChart"},
		{"styles", "GET", "/assets/app.css", 200, "text/css", "--band-inner"},
		{"icon", "GET", "/assets/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"head", "HEAD", "/assets/app.css", 200, "text/css", ""},
		{"unknown asset", "GET", "/assets/nothing.js", 404, "", ""},
		{"no escape from the assets", "GET", "/assets/../dashboard.go", 404, "", ""},
		{"the page is not an asset", "GET", "/assets/index.html", 404, "", ""},
		{"other paths are not the dashboard's", "GET", "/settings", 404, "", ""},
		{"write methods", "POST", "/", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if ct := w.Header().Get("Content-Type"); tc.contentType != "" && !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			if tc.status == 200 && !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("no content security policy: %v", w.Header())
			}
		})
	}
}

// TestRevalidation checks that a browser holding the current version of an
// asset gets 304, and a changed one would get the new content.
func TestRevalidation(t *testing.T) {
	srv := httptest.NewServer(dashboard.New())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, resp.Header.Get("Cache-Control"))
	}
	for _, tc := range []struct {
		tag  string
		want int
	}{{etag, 304}, {`"stale"`, 200}} {
		req, _ := http.NewRequest("GET", srv.URL+"/assets/app.js", nil)
		req.Header.Set("If-None-Match", tc.tag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("If-None-Match %s: %d, want %d", tc.tag, resp.StatusCode, tc.want)
		}
	}
}

// TestSelfContained checks that the page loads nothing from elsewhere: no
// absolute URL in the page, the script or the styles, so that it works
// offline and the content security policy holds.
func TestSelfContained(t *testing.T) {
	h := dashboard.New()
	external := regexp.MustCompile(`(?i)(src|href)=["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|fetch\(["']https?:`)
	for _, path := range []string{"/", "/assets/app.js", "/assets/core.js", "/assets/views.js", "/assets/violations.js", "/assets/editor.js", "/assets/chart.js", "/assets/app.css"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(w.Body)
		if m := external.Find(body); m != nil {
			t.Errorf("%s loads from elsewhere: %q", path, m)
		}
	}
}
