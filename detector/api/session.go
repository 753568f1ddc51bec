package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SessionPath is where a browser signs in (POST), reads its session (GET)
// and signs out (DELETE).
const SessionPath = "/api/session"

// RequestHeader must be present on every request authenticated by the
// session cookie that may change something, and on sign-in and sign-out.
// A cross-site form cannot set a header, and a cross-site script cannot
// either without a CORS preflight, which the API never grants: so a
// request carrying it comes from a page of the server's own origin.
const RequestHeader = "X-Vigil-Request"

// DefaultSessionLifetime is how long a sign-in lasts when
// Tokens.SessionLifetime is zero.
const DefaultSessionLifetime = 12 * time.Hour

// The session cookie's names: the __Host- prefix, which makes the browser
// insist on Secure, Path=/ and no Domain, is only allowed over HTTPS.
const (
	sessionCookie       = "vigil-session"
	secureSessionCookie = "__Host-vigil-session"
)

// The roles a session reports, by the kind of token it was opened with.
const (
	RoleAdmin    = "admin"
	RoleReadOnly = "read-only"
)

func (a access) role() string {
	if a == adminAccess {
		return RoleAdmin
	}
	return RoleReadOnly
}

// sessions issues and checks session cookie values. A value is
// base64(payload) "." base64(HMAC-SHA256(key, payload)); the payload holds
// a version, the access granted, the expiry and a random nonce. The key is
// drawn at start, so a restart (which is also the only way to change the
// tokens) signs every browser out. The raw token is never in the cookie,
// and a value cannot be forged or raised from read-only to admin without
// the key.
type sessions struct {
	key      [32]byte
	lifetime time.Duration
	now      func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // nonce of a signed-out session -> its expiry
}

const (
	sessionVersion = 1
	nonceBytes     = 16
	payloadBytes   = 2 + 8 + nonceBytes
)

func newSessions(lifetime time.Duration, now func() time.Time) *sessions {
	if lifetime <= 0 {
		lifetime = DefaultSessionLifetime
	}
	s := &sessions{lifetime: lifetime, now: now, revoked: map[string]time.Time{}}
	_, _ = rand.Read(s.key[:]) // crypto/rand.Read never fails
	return s
}

// issue returns a new session value granting a, and its expiry.
func (s *sessions) issue(a access) (string, time.Time) {
	expires := s.now().Add(s.lifetime + time.Second - 1).Truncate(time.Second) // whole seconds, not short of the lifetime
	payload := make([]byte, payloadBytes)
	payload[0], payload[1] = sessionVersion, byte(a)
	binary.BigEndian.PutUint64(payload[2:], uint64(expires.Unix()))
	_, _ = rand.Read(payload[10:])
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.mac(payload)), expires
}

func (s *sessions) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write(payload)
	return m.Sum(nil)
}

// parse checks a session value's signature and returns its payload.
func (s *sessions) parse(value string) ([]byte, bool) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil, false
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != payloadBytes || !hmac.Equal(mac, s.mac(payload)) {
		return nil, false
	}
	return payload, payload[0] == sessionVersion
}

// verify returns what a session value grants and when it expires: nothing
// when it is forged, expired or signed out.
func (s *sessions) verify(value string) (access, time.Time) {
	payload, ok := s.parse(value)
	if !ok {
		return noAccess, time.Time{}
	}
	a := access(payload[1])
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload[2:])), 0)
	if (a != readAccess && a != adminAccess) || !s.now().Before(expires) {
		return noAccess, time.Time{}
	}
	s.mu.Lock()
	_, out := s.revoked[string(payload[10:])]
	s.mu.Unlock()
	if out {
		return noAccess, time.Time{}
	}
	return a, expires
}

// revoke signs a session out for good, so that a copy of its cookie is
// refused too. Revocations are forgotten when the session would have
// expired anyway.
func (s *sessions) revoke(value string) {
	payload, ok := s.parse(value)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for nonce, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, nonce)
		}
	}
	s.revoked[string(payload[10:])] = time.Unix(int64(binary.BigEndian.Uint64(payload[2:])), 0)
}

// cookieName is the session cookie's name for a request's scheme.
func cookieName(r *http.Request) string {
	if r.TLS != nil {
		return secureSessionCookie
	}
	return sessionCookie
}

// sessionCookieOf sets (or, with an empty value, clears) the session
// cookie: HttpOnly, so that scripts cannot read it; SameSite=Strict, so
// that no other site's page sends it; Secure over HTTPS.
func sessionCookieOf(r *http.Request, value string, expires time.Time, now time.Time) *http.Cookie {
	c := &http.Cookie{Name: cookieName(r), Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil}
	if value == "" {
		c.MaxAge = -1
		return c
	}
	c.Expires = expires
	c.MaxAge = int(expires.Sub(now).Seconds())
	return c
}

// fromSameOrigin reports whether a request carries RequestHeader and, when
// the browser says where it comes from (Sec-Fetch-Site), comes from the
// server's own origin or from the user (an address typed).
func fromSameOrigin(r *http.Request) bool {
	if r.Header.Get(RequestHeader) == "" {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// safeMethod reports whether a request's method changes nothing by the
// rules of HTTP, so that it needs no cross-site protection.
func safeMethod(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
}

// sessionInfo is the answer of the session calls.
type sessionInfo struct {
	// AuthenticationRequired is false when no token is configured: the
	// dashboard then needs no sign-in.
	AuthenticationRequired bool   `json:"authenticationRequired"`
	Role                   string `json:"role"`
	// ExpiresAt is the end of a cookie session; absent for a bearer token.
	ExpiresAt *epochSeconds `json:"expiresAt,omitempty"`
}

// sessionRequest is the body of a sign-in.
type sessionRequest struct {
	Token string `json:"token"`
}

// session serves SessionPath.
func (g *gate) session(w http.ResponseWriter, r *http.Request) {
	var err error
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		g.sessionRead(w, r)
		return
	case http.MethodPost:
		err = g.signIn(w, r)
	case http.MethodDelete:
		err = g.signOut(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		err = &Error{Status: http.StatusMethodNotAllowed, Type: MethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on %s; use GET, POST, DELETE", r.Method, SessionPath)}
	}
	if err != nil {
		writeError(w, r, g.log, err)
	}
}

// sessionRead tells the dashboard whether it must sign in, and with which
// role it is signed in.
func (g *gate) sessionRead(w http.ResponseWriter, r *http.Request) {
	if g.open {
		writeJSON(w, http.StatusOK, sessionInfo{Role: RoleAdmin})
		return
	}
	cred := g.credentialsOf(r)
	if cred.granted == noAccess {
		g.unauthorized(w, r, cred)
		return
	}
	info := sessionInfo{AuthenticationRequired: true, Role: cred.granted.role()}
	if cred.cookie {
		exp := secondsOf(cred.expires)
		info.ExpiresAt = &exp
	}
	writeJSON(w, http.StatusOK, info)
}

// crossSite refuses a sign-in or sign-out that does not come from the
// dashboard's own pages.
func crossSite(r *http.Request) error {
	if fromSameOrigin(r) {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Type: Forbidden,
		Message: fmt.Sprintf("%s %s must come from the dashboard, with the header %s: 1", r.Method, SessionPath, RequestHeader)}
}

// signIn checks a token and opens a cookie session with its role.
func (g *gate) signIn(w http.ResponseWriter, r *http.Request) error {
	if err := crossSite(r); err != nil {
		return err
	}
	if g.open {
		return invalid("no token is configured: the API needs no sign-in")
	}
	var req sessionRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	token := strings.TrimSpace(req.Token)
	if token == "" {
		return invalid("token: required")
	}
	granted := g.tokens.accessOf(token)
	if granted == noAccess {
		g.log.Warn().Str("remote", r.RemoteAddr).Msg("dashboard sign-in refused: unknown token")
		return &Error{Status: http.StatusUnauthorized, Type: Unauthorized, Message: "token: not valid"}
	}
	value, expires := g.sessions.issue(granted)
	http.SetCookie(w, sessionCookieOf(r, value, expires, g.sessions.now()))
	g.log.Info().Str("remote", r.RemoteAddr).Str("role", granted.role()).Msg("dashboard sign-in")
	exp := secondsOf(expires)
	writeJSON(w, http.StatusOK, sessionInfo{AuthenticationRequired: true, Role: granted.role(), ExpiresAt: &exp})
	return nil
}

// signOut ends the request's cookie session, if any: the cookie is
// cleared, and its value refused from now on.
func (g *gate) signOut(w http.ResponseWriter, r *http.Request) error {
	if err := crossSite(r); err != nil {
		return err
	}
	if c, err := r.Cookie(cookieName(r)); err == nil && c.Value != "" {
		g.sessions.revoke(c.Value)
		http.SetCookie(w, sessionCookieOf(r, "", time.Time{}, time.Time{}))
	}
	writeJSON(w, http.StatusOK, empty{})
	return nil
}
