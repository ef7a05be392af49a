package bridge

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Session cookie and lifetimes.
const (
	sessionCookie = "fb_session"
	loginCookie   = "fb_login" // the login form's CSRF token, before a session exists
	sessionIdle   = 2 * time.Hour
	sessionMax    = 12 * time.Hour
)

// sessions holds the signed-in sessions of one node, in memory: a restart
// signs everyone out, and behind a load balancer a clerk's requests must
// reach the node she signed in to (sticky sessions). The map is keyed by
// the SHA-256 of the cookie's value, so the value is never stored.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

type session struct {
	user    string
	csrf    string
	created time.Time
	seen    time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenKey(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// start makes a session for user and returns the cookie value.
func (s *sessions) start(user string) (string, *session) {
	tok := randomToken()
	now := s.now()
	ss := &session{user: user, csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Sweep expired sessions now and then (on sign-in is enough).
	for k, old := range s.m {
		if s.expired(old, now) {
			delete(s.m, k)
		}
	}
	s.m[tokenKey(tok)] = ss
	return tok, ss
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.seen) > sessionIdle || now.Sub(ss.created) > sessionMax
}

// get returns the live session of a cookie value and marks it seen.
func (s *sessions) get(tok string) (*session, bool) {
	if tok == "" {
		return nil, false
	}
	k := tokenKey(tok)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[k]
	if !ok {
		return nil, false
	}
	if s.expired(ss, now) {
		delete(s.m, k)
		return nil, false
	}
	ss.seen = now
	cp := *ss
	return &cp, true
}

// end removes a session (logout).
func (s *sessions) end(tok string) {
	s.mu.Lock()
	delete(s.m, tokenKey(tok))
	s.mu.Unlock()
}

// sameToken compares two tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// secureRequest reports whether the browser reached us over TLS (directly
// or through a proxy that says so): cookies then get the Secure flag.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteLaxMode})
}

// requestCSRF is the token a request sends back: the X-CSRF-Token header,
// the "csrf" query parameter (a multipart upload, which is not parsed
// before it is streamed), or the "csrf" field of a URL-encoded form.
func requestCSRF(r *http.Request) string {
	if t := r.Header.Get("X-CSRF-Token"); t != "" {
		return t
	}
	if t := r.URL.Query().Get("csrf"); t != "" {
		return t
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return r.PostFormValue("csrf")
	}
	return ""
}

// throttle slows down guessing passwords: after five wrong passwords in a
// row for a user name, or from one address, sign-in is refused for 30 s,
// doubling with each further failure up to 15 min. A right password
// clears the user's and the address's count; an hour without attempts
// forgets them.
type throttle struct {
	mu  sync.Mutex
	m   map[string]*strikes
	now func() time.Time
}

type strikes struct {
	fails int
	last  time.Time
	until time.Time
}

const (
	freeFailures = 5
	firstLockout = 30 * time.Second
	maxLockout   = 15 * time.Minute
	forgetAfter  = time.Hour
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{m: map[string]*strikes{}, now: now}
}

// wait returns how long sign-in stays refused for any of keys (0: go on).
func (t *throttle) wait(keys ...string) time.Duration {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var d time.Duration
	for _, k := range keys {
		if s, ok := t.m[k]; ok && s.until.After(now) {
			d = max(d, s.until.Sub(now))
		}
	}
	return d
}

// fail counts a wrong password for keys.
func (t *throttle) fail(keys ...string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range t.m {
		if now.Sub(s.last) > forgetAfter {
			delete(t.m, k)
		}
	}
	for _, k := range keys {
		s := t.m[k]
		if s == nil {
			s = &strikes{}
			t.m[k] = s
		}
		s.fails++
		s.last = now
		if s.fails >= freeFailures {
			d := firstLockout << min(s.fails-freeFailures, 10)
			s.until = now.Add(min(d, maxLockout))
		}
	}
}

// ok clears keys after a right password.
func (t *throttle) ok(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.m, k)
	}
}

// clientIP is the address a request came from (the TCP peer; proxies'
// headers are not trusted for throttling).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
