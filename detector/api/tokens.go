package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// The error types of refused tokens, as AWS names them.
const (
	Unauthorized = "UnauthorizedException"
	Forbidden    = "ForbiddenException"
)

// MinTokenLength is the shortest token accepted, in bytes.
const MinTokenLength = 16

// Tokens are the bearer tokens the API accepts, in the Authorization
// header ("Authorization: Bearer TOKEN"). With none, every request is
// served, which is only allowed on a loopback address (CheckExposure).
type Tokens struct {
	// Admin tokens may call everything.
	Admin []string
	// ReadOnly tokens may read: GET and HEAD, and validating behaviors,
	// which changes nothing.
	ReadOnly []string
}

// Empty reports whether no token is configured.
func (t Tokens) Empty() bool { return len(t.Admin) == 0 && len(t.ReadOnly) == 0 }

// Check refuses tokens too short to resist guessing.
func (t Tokens) Check() error {
	for _, list := range []struct {
		name   string
		tokens []string
	}{{"admin", t.Admin}, {"read-only", t.ReadOnly}} {
		for _, tok := range list.tokens {
			if len(tok) < MinTokenLength {
				return fmt.Errorf("%s token: must be at least %d characters", list.name, MinTokenLength)
			}
		}
	}
	return nil
}

// ErrExposed means the API would listen beyond loopback without tokens.
var ErrExposed = errors.New("the API listens beyond loopback without a token")

// CheckExposure refuses to serve the API on addr without tokens unless addr
// is a loopback address, where only local users reach it.
func CheckExposure(addr string, t Tokens) error {
	if !t.Empty() || IsLoopback(addr) {
		return nil
	}
	return fmt.Errorf("%w: %s; set an admin token (--admin-token or VIGIL_ADMIN_TOKEN), or listen on 127.0.0.1", ErrExposed, addr)
}

// IsLoopback reports whether a listen address (host:port) only accepts
// local connections: localhost or a loopback IP. An empty host listens on
// every interface.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// access is what a request is allowed.
type access uint8

const (
	noAccess access = iota
	readAccess
	adminAccess
)

// tokenSet matches presented tokens in constant time.
type tokenSet struct {
	admin, read [][sha256.Size]byte
}

func newTokenSet(t Tokens) tokenSet {
	var s tokenSet
	for _, tok := range t.Admin {
		s.admin = append(s.admin, sha256.Sum256([]byte(tok)))
	}
	for _, tok := range t.ReadOnly {
		s.read = append(s.read, sha256.Sum256([]byte(tok)))
	}
	return s
}

// accessOf returns what a presented token allows. Digests have one length,
// so the comparison time says nothing about the tokens.
func (s tokenSet) accessOf(token string) access {
	sum := sha256.Sum256([]byte(token))
	found := noAccess
	for _, a := range s.admin {
		if subtle.ConstantTimeCompare(sum[:], a[:]) == 1 {
			found = adminAccess
		}
	}
	for _, r := range s.read {
		if subtle.ConstantTimeCompare(sum[:], r[:]) == 1 && found == noAccess {
			found = readAccess
		}
	}
	return found
}

// needsToken reports whether a request must carry a token: the API and the
// metrics do; liveness, and the dashboard's static files, do not.
func needsToken(r *http.Request) bool {
	p := r.URL.Path
	return p == "/metrics" || p == "/api" || strings.HasPrefix(p, "/api/")
}

// readOnly reports whether a request changes nothing.
func readOnly(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	}
	return r.Method == http.MethodPost && r.URL.Path == "/api/security-profile-behaviors/validate"
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authorized serves the requests whose token allows them; without tokens
// configured it serves everything.
func (s *server) authorized(t Tokens, next http.Handler) http.Handler {
	if t.Empty() {
		return next
	}
	set := newTokenSet(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !needsToken(r) {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearer(r)
		granted := noAccess
		if ok {
			granted = set.accessOf(token)
		}
		switch {
		case granted == noAccess:
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			msg := "a token is required: send the header Authorization: Bearer TOKEN"
			if ok {
				msg = "the token is not valid"
			}
			writeError(w, r, s.log, &Error{Status: http.StatusUnauthorized, Type: Unauthorized, Message: msg})
		case granted == readAccess && !readOnly(r):
			writeError(w, r, s.log, &Error{Status: http.StatusForbidden, Type: Forbidden,
				Message: fmt.Sprintf("a read-only token cannot %s %s; use an admin token", r.Method, r.URL.Path)})
		default:
			next.ServeHTTP(w, r)
		}
	})
}
