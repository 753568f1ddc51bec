package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// FuzzAuthorization sends any Authorization header: the middleware must
// never panic, and must let a request through only with a configured
// token, and a change only with the admin one.
func FuzzAuthorization(f *testing.F) {
	const admin, read = "admin-token-0123456789", "read-token-0123456789"
	for _, seed := range []string{"", "Bearer " + admin, "bearer " + read, "Bearer", "Bearer  ", "Basic x", "Bearer " + admin + "x",
		"Bearer\t" + admin, "BEARER " + read + " "} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	s := &server{log: zerolog.Nop()}
	reached := false
	h := s.authorized(Tokens{Admin: []string{admin}, ReadOnly: []string{read}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		reached = true
	}))
	f.Fuzz(func(t *testing.T, header string, change bool) {
		method := http.MethodGet
		if change {
			method = http.MethodPost
		}
		req := httptest.NewRequest(method, "/api/things/x", nil)
		req.Header.Set("Authorization", header)
		reached = false
		h.ServeHTTP(httptest.NewRecorder(), req)
		token, _ := bearer(req)
		allowed := token == admin || (!change && token == read)
		if reached != allowed {
			t.Fatalf("header %q, change %v: reached %v, want %v", header, change, reached, allowed)
		}
		if reached && !strings.Contains(header, token) {
			t.Fatalf("header %q let a request through without a token", header)
		}
	})
}
