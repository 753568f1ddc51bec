package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
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
	// SessionLifetime is how long a dashboard sign-in (session.go) lasts;
	// zero means DefaultSessionLifetime.
	SessionLifetime time.Duration
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

// authorized serves the requests whose credentials allow them: a token in
// the Authorization header, or the session cookie a browser got by signing
// in (session.go). Without tokens configured it serves everything.
func (s *server) authorized(t Tokens, next http.Handler) http.Handler {
	return &gate{tokens: newTokenSet(t), open: t.Empty(), sessions: newSessions(t.SessionLifetime, time.Now), log: s.log, next: next}
}

// gate is the API's access check.
type gate struct {
	tokens   tokenSet
	open     bool // no token configured
	sessions *sessions
	log      zerolog.Logger
	next     http.Handler
}

// credentials is what a request presented, and what it is granted.
type credentials struct {
	granted   access
	presented bool      // a token or a session cookie came with the request
	cookie    bool      // they came as the session cookie
	expires   time.Time // the session's end, with a cookie
}

// credentialsOf reads a bearer token, or else the session cookie. A bearer
// token takes precedence: a client that sends one means it. Another scheme
// (a proxy's Basic authentication, say) leaves the cookie to decide.
func (g *gate) credentialsOf(r *http.Request) credentials {
	if token, ok := bearer(r); ok {
		return credentials{granted: g.tokens.accessOf(token), presented: true}
	}
	c, err := r.Cookie(cookieName(r))
	if err != nil || c.Value == "" {
		return credentials{presented: r.Header.Get("Authorization") != ""}
	}
	granted, expires := g.sessions.verify(c.Value)
	return credentials{granted: granted, presented: true, cookie: true, expires: expires}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == SessionPath {
		g.session(w, r)
		return
	}
	if g.open || !needsToken(r) {
		g.next.ServeHTTP(w, r)
		return
	}
	cred := g.credentialsOf(r)
	switch {
	case cred.granted == noAccess:
		g.unauthorized(w, r, cred)
	case cred.cookie && !safeMethod(r) && !fromSameOrigin(r):
		writeError(w, r, g.log, &Error{Status: http.StatusForbidden, Type: Forbidden,
			Message: fmt.Sprintf("a %s authenticated by the session cookie must come from the dashboard, with the header %s: 1", r.Method, RequestHeader)})
	case cred.granted == readAccess && !readOnly(r):
		writeError(w, r, g.log, &Error{Status: http.StatusForbidden, Type: Forbidden,
			Message: fmt.Sprintf("a read-only token cannot %s %s; use an admin token", r.Method, r.URL.Path)})
	case cred.cookie:
		// A long request (the event stream) ends with the session.
		ctx, cancel := context.WithTimeout(r.Context(), cred.expires.Sub(g.sessions.now()))
		defer cancel()
		g.next.ServeHTTP(w, r.WithContext(ctx))
	default:
		g.next.ServeHTTP(w, r)
	}
}

// unauthorized answers 401, saying what was wrong with what was presented;
// a refused session cookie is cleared.
func (g *gate) unauthorized(w http.ResponseWriter, r *http.Request, cred credentials) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
	msg := "a token is required: send the header Authorization: Bearer TOKEN, or sign in to the dashboard"
	switch {
	case cred.cookie:
		http.SetCookie(w, sessionCookieOf(r, "", time.Time{}, time.Time{}))
		msg = "the session has expired or was signed out; sign in again"
	case cred.presented:
		msg = "the token is not valid"
	}
	writeError(w, r, g.log, &Error{Status: http.StatusUnauthorized, Type: Unauthorized, Message: msg})
}
