package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/fieldbridge/fieldbridge/bridge/web"
)

// Server is the bridge's one HTTP listener: /healthz, /readyz, /metrics,
// the status page "/" and the routes of jobs implementing Handler.
//
// Everything except /healthz, /readyz, the import pages and Public routes
// needs the token ([http] token), given as "Authorization: Bearer <t>", an
// "X-Fieldbridge-Token: <t>" header or "?token=<t>"; an operator signed in
// to the import pages may also read (GET) them. With no token configured,
// protected endpoints answer 403. /metrics is protected unless [http]
// public_metrics = true.
//
// The import pages (/login, /import/ and job routes marked Users) need a
// user of the config's [[user]] tables signed in; see accounts.go.
type Server struct {
	e       *Engine
	log     *slog.Logger
	handler http.Handler
	// routes are the current configuration's: a reload swaps them.
	routes atomic.Pointer[serverRoutes]
	// sessions and the sign-in throttle outlive reloads.
	sess *sessions
	thr  *throttle
	// dummy is a bcrypt hash of the cost HashPassword uses, compared
	// against when a sign-in names no user.
	dummy []byte
}

// serverRoutes are the routes of one configuration.
type serverRoutes struct {
	cfg    HTTPConfig
	lang   string // the config's language
	mux    *http.ServeMux
	quiet  map[string]bool  // patterns of Logged routes
	bodies map[string]int64 // patterns of routes with their own MaxBody
	acc    *accounts
}

// Pinger is implemented by ledgers that can tell whether they answer.
type Pinger interface {
	Ping(ctx context.Context) error
}

// NewServer builds the server's routes. A job route that conflicts with
// another is an error naming the job. When the engine reloads its
// configuration, the server serves the new jobs' routes and [http]
// settings (except listen) from then on.
func NewServer(e *Engine) (*Server, error) {
	s := &Server{e: e, log: e.log.With("component", "http"), sess: newSessions(e.now), thr: newThrottle(e.now)}
	s.dummy, _ = bcrypt.GenerateFromPassword([]byte("fieldbridge-no-such-user"), hashCost)
	e.mu.Lock()
	defer e.mu.Unlock()
	rs, err := s.build(e.cfg, e.jobs)
	if err != nil {
		return nil, err
	}
	s.routes.Store(rs)
	s.handler = s.limits(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.routes.Load().mux.ServeHTTP(w, r)
	}))
	e.server = s
	return s, nil
}

// build makes the routes of the engine's endpoints and of jobs.
func (s *Server) build(conf *Config, jobs []*jobState) (*serverRoutes, error) {
	cfg := conf.HTTP
	rs := &serverRoutes{cfg: cfg, lang: conf.Language, mux: http.NewServeMux(), quiet: map[string]bool{},
		bodies: map[string]int64{}, acc: s.newAccounts(conf, jobs)}
	handle := func(pattern string, h http.Handler, owner string) (err error) {
		defer func() {
			if p := recover(); p != nil { // ServeMux panics on conflicts
				err = fmt.Errorf("%s: route %q: %v", owner, pattern, p)
			}
		}()
		rs.mux.Handle(pattern, h)
		return nil
	}
	var errs []error
	add := func(pattern string, h http.Handler, owner string) {
		if err := handle(pattern, h, owner); err != nil {
			errs = append(errs, err)
		}
	}
	add("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	}), "engine")
	add("GET /readyz", http.HandlerFunc(s.readyz), "engine")
	metrics := s.e.metrics.Handler()
	if !cfg.PublicMetrics {
		metrics = protect(cfg.Token, metrics)
	}
	add("GET /metrics", metrics, "engine")
	add("GET /{$}", s.protect(cfg.Token, http.HandlerFunc(s.status)), "engine")
	add("GET /login", http.HandlerFunc(s.getLogin), "engine")
	add("POST /login", http.HandlerFunc(s.postLogin), "engine")
	add("POST /logout", http.HandlerFunc(s.postLogout), "engine")
	add("GET /import/{$}", s.users(http.HandlerFunc(s.importIndex)), "engine")
	add("GET "+web.AssetPath, assetHandler(), "engine")
	for _, js := range jobs {
		h, ok := js.job.(Handler)
		if !ok || !js.enabled() {
			continue
		}
		for _, rt := range h.Routes() {
			hh := rt.Handler
			switch {
			case rt.Users:
				hh = s.users(hh)
			case !rt.Public:
				hh = s.protect(cfg.Token, hh)
			}
			if rt.MaxBody > 0 {
				rs.bodies[rt.Pattern] = rt.MaxBody
			}
			add(rt.Pattern, hh, fmt.Sprintf("job %q", js.cfg.Spec.Name))
			if rt.Logged {
				rs.quiet[rt.Pattern] = true
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// Handler returns the server's handler (for tests with httptest).
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns the http.Server that Serve runs: the server's
// handler with its timeouts and header limit. Requests' contexts derive
// from ctx without its cancellation (Serve shuts down gracefully).
func (s *Server) HTTPServer(ctx context.Context) *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// Serve serves on ln until ctx is done, then shuts down gracefully
// (in-flight requests get up to 5 s).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.HTTPServer(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// limits bounds request bodies and logs requests (never the query string,
// which may carry the token).
func (s *Server) limits(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs := s.routes.Load()
		limit := rs.cfg.MaxBody
		if len(rs.bodies) > 0 && r.Method == http.MethodPost {
			if _, pat := rs.mux.Handler(r); rs.bodies[pat] > 0 {
				limit = rs.bodies[pat]
			}
		}
		if r.ContentLength > limit {
			http.Error(w, fmt.Sprintf("request body too large (limit %d bytes)", limit), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if l := web.Supported(r.URL.Query().Get("lang")); l != "" && r.Method == http.MethodGet {
			// The pages' language switch: remembered for the next pages.
			http.SetCookie(w, &http.Cookie{Name: "fb_lang", Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: secureRequest(r), SameSite: http.SameSiteLaxMode})
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		t0 := time.Now()
		next.ServeHTTP(sw, r)
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			return
		}
		level := slog.LevelInfo
		if rs.quiet[r.Pattern] {
			level = slog.LevelDebug
		}
		if !s.log.Enabled(r.Context(), level) {
			return
		}
		s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", time.Since(t0).Round(time.Millisecond).String(), "remote", r.RemoteAddr)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// protect requires token, or (to read: GET, HEAD) an operator signed in
// to the import pages.
func (s *Server) protect(token string, next http.Handler) http.Handler {
	tok := protect(token, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if _, u, ok := s.accounts().signedIn(r); ok && u.Operator() {
				next.ServeHTTP(w, r)
				return
			}
		}
		tok.ServeHTTP(w, r)
	})
}

// protect requires token.
func protect(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			http.Error(w, "forbidden: no token is configured; set [http] token to use this endpoint", http.StatusForbidden)
			return
		}
		got := RequestToken(r)
		g := sha256.Sum256([]byte(got))
		if got == "" || subtle.ConstantTimeCompare(g[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fieldbridge"`)
			http.Error(w, "unauthorized: give the token as \"Authorization: Bearer <token>\"", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequestToken returns the token a request carries: "Authorization:
// Bearer", "X-Fieldbridge-Token" or the "token" query parameter.
func RequestToken(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	if t := r.Header.Get("X-Fieldbridge-Token"); t != "" {
		return t
	}
	return r.URL.Query().Get("token")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.e.Ready() {
		http.Error(w, "not ready: jobs not started", http.StatusServiceUnavailable)
		return
	}
	if p, ok := s.e.ledger.(Pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			http.Error(w, "not ready: ledger does not answer", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

var statusPage = template.Must(template.New("status").Funcs(template.FuncMap{
	"when": func(t time.Time, loc *time.Location) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(loc).Format("2006-01-02 15:04:05 MST")
	},
	"counts": func(m map[string]int64) string { return summary(m, nil) },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>fieldbridge</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.ok{color:#070}.partial{color:#a60}.failed{color:#b00}.running{color:#06a}.stopped{color:#666}</style></head>
<body><h1>fieldbridge</h1>
<p>Started {{when .Started .Loc}} · {{len .Jobs}} jobs · time zone {{.Loc}}</p>
{{with .Cluster}}<p>Cluster: this is node <b>{{.Node}}</b> · live nodes:{{range .Nodes}} {{.Name}}{{if .Self}} (this one){{end}} since {{when .Since $.Loc}};{{else}} none{{end}}</p>{{end}}
{{with .ClusterErr}}<p class="failed">Cluster state unavailable: {{.}}</p>{{end}}
<table><tr><th>Job</th><th>Kind</th><th>Trigger</th><th>Next</th><th>Last run</th><th>Outcome</th><th>Counts / message</th></tr>
{{range .Jobs}}<tr><td>{{.Name}}{{if not .Enabled}} (disabled){{end}}</td><td>{{.Kind}}</td><td>{{.Trigger}}</td>
<td>{{if .Running}}<span class="running">running{{with .Node}} on {{.}}{{end}}</span>{{else}}{{when .Next $.Loc}}{{end}}</td>
{{with .Last}}<td>#{{.ID}} {{when .Started $.Loc}}</td><td class="{{.Outcome}}">{{.Outcome}}</td><td>{{.Message}}</td>{{else}}<td>never</td><td></td><td></td>{{end}}</tr>
{{if .Summary}}<tr><td></td><td colspan="6">{{.Summary}}</td></tr>{{end}}
{{end}}</table></body></html>
`))

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Started    time.Time
		Loc        *time.Location
		Jobs       []JobStatus
		Cluster    *ClusterStatus
		ClusterErr string
	}{Started: s.e.started, Loc: s.e.Config().Location(), Jobs: s.e.Status(r.Context())}
	if cl, ok, err := s.e.Cluster(r.Context()); ok {
		data.Cluster = &cl
		if err != nil {
			data.ClusterErr = s.e.scrub(err.Error())
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := statusPage.Execute(w, data); err != nil {
		s.log.Error("status page", "err", err)
	}
}

// RunDaemon runs the engine's jobs and, unless [http] listen is "off", the
// HTTP server, until ctx is done; then it stops both (see Engine.Run).
//
// Only one daemon may use a data folder: a second one fails with an error
// wrapping ErrBusy. Nodes of a cluster each have their own data folder.
func RunDaemon(ctx context.Context, e *Engine) error {
	cfg := e.Config()
	unlock, err := lockFile(filepath.Join(cfg.DataDir, "locks", "daemon.lock"))
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return fmt.Errorf("another fieldbridge daemon already uses %s: %w", cfg.DataDir, ErrBusy)
		}
		return err
	}
	defer unlock()
	var srvErr chan error
	if cfg.HTTP.Listen != "off" {
		s, err := NewServer(e)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
		}
		srvErr = make(chan error, 1)
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			err := s.Serve(sctx, ln)
			if err != nil && sctx.Err() == nil {
				e.log.Error("http server stopped", "err", err)
				cancel()
			}
			srvErr <- err
		}()
		ctx = sctx
	}
	err = e.Run(ctx)
	if srvErr != nil {
		if serr := <-srvErr; err == nil && serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = serr
		}
	}
	return err
}
