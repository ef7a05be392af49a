package bridge

import (
	"encoding/json"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/fieldbridge/fieldbridge/bridge/web"
)

// accounts are one configuration's users and the server's sessions and
// sign-in throttle (which outlive reloads), and the jobs with import pages.
type accounts struct {
	users  map[string]*User  // by lower-case name
	hashes map[string][]byte // by lower-case name
	sess   *sessions
	thr    *throttle
	jobs   []*jobState
	// dummy is compared against when the name is unknown, so that a
	// wrong name takes as long as a wrong password.
	dummy []byte
}

func (s *Server) newAccounts(cfg *Config, jobs []*jobState) *accounts {
	a := &accounts{users: map[string]*User{}, hashes: map[string][]byte{}, sess: s.sess, thr: s.thr, jobs: jobs}
	for _, uc := range cfg.Users {
		k := strings.ToLower(uc.Name)
		a.users[k] = newUser(uc)
		a.hashes[k] = []byte(uc.PasswordHash)
	}
	a.dummy = s.dummy
	return a
}

// accounts returns the current configuration's accounts.
func (s *Server) accounts() *accounts { return s.routes.Load().acc }

// lang is the current configuration's language.
func (s *Server) lang() string { return s.routes.Load().lang }

// signedIn returns the session and user of a request's cookie.
func (a *accounts) signedIn(r *http.Request) (*session, *User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil, false
	}
	ss, ok := a.sess.get(c.Value)
	if !ok {
		return nil, nil, false
	}
	u, ok := a.users[strings.ToLower(ss.user)]
	if !ok { // removed from the config
		return nil, nil, false
	}
	return ss, u, true
}

// wantsJSON reports whether the request came from the pages' script.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// users guards a Users route: a session is needed (a page asks for it
// with a redirect to /login), and unsafe methods need the session's CSRF
// token.
func (s *Server) users(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, u, ok := s.accounts().signedIn(r)
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		if !ok {
			if safe && !wantsJSON(r) {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.PageError(w, r, http.StatusUnauthorized, "login_title")
			return
		}
		if !safe && !sameToken(requestCSRF(r), ss.csrf) {
			s.log.Warn("form refused: missing or wrong CSRF token", "path", r.URL.Path, "user", u.Name)
			s.PageError(w, r, http.StatusForbidden, "csrf")
			return
		}
		next.ServeHTTP(w, r.WithContext(withUser(r.Context(), u, ss.csrf)))
	})
}

// NewPage makes the layout data of a page served to the signed-in user
// of r: its language (the user's, the browser's, or else lang, the
// config's), the user's name and the CSRF token. title is a key of texts.
func NewPage(r *http.Request, lang string, texts web.Catalog, title string, data any) web.Page {
	u, _ := UserFrom(r.Context())
	pref := ""
	if u != nil {
		pref = u.Language
	}
	texts = web.Texts.With(texts)
	p := web.Page{Lang: web.Negotiate(r, pref, lang), Texts: texts, Data: data, CSRF: CSRFToken(r.Context())}
	p.Title = texts.T(p.Lang, title)
	if u != nil {
		p.User, p.Operator = u.Name, u.Operator()
	}
	return p
}

var errorPage = web.Parse("error", `{{define "content"}}<div class="card"><p class="msg error" id="error">{{.Data}}</p>
<p><a href="/import/">{{.T "home"}}</a></p></div>{{end}}`, nil)

// PageError answers with a page (or, to the script, JSON) saying the text
// of key, in the request's language.
func (s *Server) PageError(w http.ResponseWriter, r *http.Request, code int, key string) {
	PageError(w, r, s.lang(), code, web.Texts, key)
}

// PageError is Server.PageError for job kinds, with their own texts; lang
// is the config's language.
func PageError(w http.ResponseWriter, r *http.Request, lang string, code int, texts web.Catalog, key string, args ...any) {
	p := NewPage(r, lang, texts, "app", nil)
	msg := p.T(key, args...)
	if wantsJSON(r) {
		web.SecureHeaders(w)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
		return
	}
	p.Data = msg
	web.Render(w, code, errorPage, p)
}

var loginPage = web.Parse("login", `{{define "content"}}<div class="card login"><h1>{{.T "login_title"}}</h1>
{{with .Data.Message}}<p class="msg {{$.Data.Class}}" id="login-message">{{.}}</p>{{end}}
<form method="post" action="/login" id="login">
<input type="hidden" name="csrf" value="{{.Data.Token}}"><input type="hidden" name="next" value="{{.Data.Next}}">
<label for="user">{{.T "login_user"}}</label><input type="text" id="user" name="user" value="{{.Data.User}}" autocomplete="username" autofocus required>
<label for="password">{{.T "login_password"}}</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<p><button class="btn" type="submit">{{.T "login_submit"}}</button></p></form></div>{{end}}`, nil)

type loginData struct {
	Token, Next, User, Message, Class string
}

// safeNext keeps a post-login redirect on this server.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/import/"
	}
	return next
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	d.Token = randomToken()
	setCookie(w, r, loginCookie, d.Token, 3600)
	p := NewPage(r, s.lang(), nil, "login_title", d)
	p.CSRF = ""
	web.Render(w, code, loginPage, p)
}

func (s *Server) getLogin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, _, ok := s.accounts().signedIn(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := loginData{Next: next}
	if r.URL.Query().Get("out") == "1" {
		d.Message, d.Class = web.Texts.T(web.Negotiate(r, "", s.lang()), "logged_out"), "ok"
	}
	s.loginForm(w, r, http.StatusOK, d)
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	lang := web.Negotiate(r, "", s.lang())
	name := strings.TrimSpace(r.PostFormValue("user"))
	d := loginData{Next: safeNext(r.PostFormValue("next")), User: name, Class: "error"}
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), c.Value) {
		d.Message = web.Texts.T(lang, "csrf")
		s.loginForm(w, r, http.StatusForbidden, d)
		return
	}
	keys := []string{"u:" + strings.ToLower(name), "ip:" + clientIP(r)}
	if wait := s.accounts().thr.wait(keys...); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		d.Message = web.Texts.T(lang, "login_throttled", secs)
		s.log.Warn("sign-in refused: too many wrong passwords", "user", name, "remote", clientIP(r), "wait", secs)
		s.loginForm(w, r, http.StatusTooManyRequests, d)
		return
	}
	k := strings.ToLower(name)
	hash, known := s.accounts().hashes[k]
	if !known {
		hash = s.accounts().dummy
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) != nil || !known {
		s.accounts().thr.fail(keys...)
		s.log.Warn("sign-in failed", "user", name, "remote", clientIP(r))
		d.Message = web.Texts.T(lang, "login_wrong")
		if wait := s.accounts().thr.wait(keys...); wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			d.Message += " " + web.Texts.T(lang, "login_throttled", secs)
		}
		s.loginForm(w, r, http.StatusUnauthorized, d)
		return
	}
	s.accounts().thr.ok(keys...)
	u := s.accounts().users[k]
	tok, _ := s.accounts().sess.start(u.Name)
	setCookie(w, r, sessionCookie, tok, int(sessionMax.Seconds()))
	setCookie(w, r, loginCookie, "", -1)
	s.log.Info("signed in", "user", u.Name, "role", u.Role, "remote", clientIP(r))
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *Server) postLogout(w http.ResponseWriter, r *http.Request) {
	ss, u, ok := s.accounts().signedIn(r)
	if ok {
		if !sameToken(requestCSRF(r), ss.csrf) {
			s.PageError(w, r, http.StatusForbidden, "csrf")
			return
		}
		c, _ := r.Cookie(sessionCookie)
		s.accounts().sess.end(c.Value)
		s.log.Info("signed out", "user", u.Name)
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login?out=1", http.StatusSeeOther)
}

var indexPage = web.Parse("index", `{{define "content"}}<h1>{{.T "index_title"}}</h1>
{{range .Data}}<div class="card inbox"><h2><a href="{{.URL}}">{{.Job}} / {{.Inbox}}</a></h2><p class="muted small">{{.Where}}</p></div>
{{else}}<p class="msg info">{{.T "index_none"}}</p>{{end}}{{end}}`, nil)

type indexEntry struct {
	Job, Inbox, Where, URL string
}

// importIndex lists the inboxes the signed-in user may use.
func (s *Server) importIndex(w http.ResponseWriter, r *http.Request) {
	u, _ := UserFrom(r.Context())
	var list []indexEntry
	for _, js := range s.accounts().jobs {
		imp, ok := js.job.(Importer)
		if !ok || !js.enabled() {
			continue
		}
		for _, in := range imp.ImportInboxes() {
			if u.CanImport(js.cfg.Spec.Name, in.Name) {
				list = append(list, indexEntry{Job: js.cfg.Spec.Name, Inbox: in.Name, Where: in.Where,
					URL: "/import/" + url.PathEscape(js.cfg.Spec.Name) + "/" + url.PathEscape(in.Name) + "/"})
			}
		}
	}
	sort.Slice(list, func(a, b int) bool { return list[a].URL < list[b].URL })
	if len(list) == 1 && !u.Operator() {
		http.Redirect(w, r, list[0].URL, http.StatusSeeOther)
		return
	}
	web.Render(w, http.StatusOK, indexPage, NewPage(r, s.lang(), nil, "index_title", list))
}

func assetHandler() http.Handler {
	fsrv := http.StripPrefix(web.AssetPath, http.FileServerFS(web.Assets()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := fs.Stat(web.Assets(), strings.TrimPrefix(r.URL.Path, web.AssetPath)); err != nil || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}
