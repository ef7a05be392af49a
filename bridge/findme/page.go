package findme

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fieldbridge/fieldbridge/bridge/findme/web"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// maxPageBody bounds the customer's form.
const maxPageBody = 8192

// pageServer serves /l/<token> and /l/assets/.
type pageServer struct {
	s      *Service
	r      *web.Renderer
	assets http.Handler
	csp    string
}

func newPageServer(s *Service) (*pageServer, error) {
	r, err := web.NewRenderer()
	if err != nil {
		return nil, err
	}
	tiles := ""
	if u, err := url.Parse(strings.NewReplacer("{s}", "a", "{z}", "0", "{x}", "0", "{y}", "0").Replace(s.o.TileURL)); err == nil {
		tiles = u.Scheme + "://" + u.Host
		if strings.Contains(s.o.TileURL, "{s}") { // subdomains a, b, c
			tiles = u.Scheme + "://*." + strings.SplitN(u.Host, ".", 2)[1]
		}
	}
	sub, err := fs.Sub(web.Assets(), ".")
	if err != nil {
		return nil, err
	}
	return &pageServer{s: s, r: r, assets: http.StripPrefix("/l/assets/", http.FileServerFS(sub)),
		csp: "default-src 'self'; img-src 'self' data: " + tiles + "; script-src 'self'; style-src 'self'; " +
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"}, nil
}

func (p *pageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", p.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the token must not leave in a Referer (tiles)
	if strings.HasPrefix(r.URL.Path, "/l/assets/") {
		h.Set("Cache-Control", "public, max-age=3600")
		p.assets.ServeHTTP(w, r)
		return
	}
	h.Set("Cache-Control", "no-store")
	token := strings.TrimPrefix(r.URL.Path, "/l/")
	if token == "" || strings.Contains(token, "/") || len(token) > 64 {
		p.done(w, http.StatusNotFound, txtLinkUnknownTitle, txtLinkUnknown)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		p.show(w, r, token, "")
	case http.MethodPost:
		p.choose(w, r, token)
	default:
		w.Header().Set("Allow", "GET, POST")
		p.done(w, http.StatusMethodNotAllowed, txtLinkUnknownTitle, txtLinkUnknown)
	}
}

// open finds a token's link and says whether it can still be used; a link
// that cannot is answered with a sentence and nothing else.
func (p *pageServer) open(w http.ResponseWriter, r *http.Request, token string) (string, link, bool) {
	s := p.s
	id, sum := idOf(token)
	l, err := s.load(r.Context(), id)
	switch {
	case errors.Is(err, ledger.ErrNotFound) || (err == nil && !sumEqual(l.TokenSum, sum)):
		p.done(w, http.StatusNotFound, txtLinkUnknownTitle, txtLinkUnknown)
		return "", l, false
	case err != nil:
		s.d.Log.Error("findme: ledger", "err", err)
		p.done(w, http.StatusServiceUnavailable, txtErrorTitle, txtPageUnavailable)
		return "", l, false
	}
	if s.expire(&l) {
		_ = s.save(r.Context(), id, l)
	}
	switch l.State {
	case StateAnswered:
		p.done(w, http.StatusGone, txtLinkUsedTitle, txtLinkUsed)
		return "", l, false
	case StateExpired:
		p.done(w, http.StatusGone, txtLinkExpiredTitle, txtLinkExpired)
		return "", l, false
	}
	return id, l, true
}

// show renders the page; problem, when set, is said above the form.
func (p *pageServer) show(w http.ResponseWriter, r *http.Request, token, problem string) {
	if _, _, ok := p.open(w, r, token); !ok {
		return
	}
	s := p.s
	t := web.Texts(s.d.Lang)
	if problem != "" {
		t["intro"] = problem
	}
	var buf bytes.Buffer
	if err := p.r.Page(&buf, web.Page{Lang: s.d.Lang, Text: t, Action: "/l/" + token, AssetBase: "/l/assets/",
		TileURL: s.o.TileURL, Attribution: s.o.Attribution, Lat: s.o.MapLat, Lng: s.o.MapLng, Zoom: s.o.MapZoom}); err != nil {
		s.d.Log.Error("findme: page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	code := http.StatusOK
	if problem != "" {
		code = http.StatusUnprocessableEntity
	}
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// choose takes the customer's location: it is asked about at once, the
// link is used up, and the answer waits for the bot (and goes to the
// callback).
func (p *pageServer) choose(w http.ResponseWriter, r *http.Request, token string) {
	s := p.s
	r.Body = http.MaxBytesReader(w, r.Body, maxPageBody)
	if err := r.ParseForm(); err != nil {
		p.show(w, r, token, s.text(txtBadForm))
		return
	}
	f := r.PostForm
	lat, lerr := parseCoord(f.Get("lat"))
	lng, gerr := parseCoord(f.Get("lng"))
	address := strings.TrimSpace(truncate(f.Get("address"), 300))
	source := f.Get("source")
	haveCoords := lerr == nil && gerr == nil && (lat != 0 || lng != 0)
	switch {
	case haveCoords:
		address = ""
		if source != "gps" && source != "map" {
			source = "typed"
		}
	case address != "":
		lat, lng, source = 0, 0, "address"
	default:
		p.show(w, r, token, s.text(txtNoLocation))
		return
	}
	id, l, ok := p.open(w, r, token)
	if !ok {
		return
	}
	// One confirmation at a time per link: a second submit waits its turn
	// and finds the link used.
	s.mu.Lock()
	busy := s.using[id]
	s.using[id] = true
	s.mu.Unlock()
	if busy {
		p.done(w, http.StatusConflict, txtLinkUsedTitle, txtLinkUsed)
		return
	}
	defer func() { s.mu.Lock(); delete(s.using, id); s.mu.Unlock() }()

	ans := s.d.Asker.Ask(r.Context(), fortics.InputFindMe, clientIP(r), lat, lng, address)
	if ans.Status == fortics.StatusInvalidRequest {
		// a location that cannot be used (outside the map, an address not
		// found): the customer can try again
		p.show(w, r, token, ans.Message)
		return
	}
	l.State, l.Answer, l.Source = StateAnswered, &ans, source
	if err := s.save(context.WithoutCancel(r.Context()), id, l); err != nil {
		s.d.Log.Error("findme: ledger", "err", err)
		p.done(w, http.StatusServiceUnavailable, txtErrorTitle, txtPageUnavailable)
		return
	}
	s.d.Log.Info("findme: location chosen", "id", id, "to", l.Masked, "source", source, "status", ans.Status)
	s.callback(id, l)
	p.done(w, http.StatusOK, txtThanksTitle, txtThanks)
}

func (p *pageServer) done(w http.ResponseWriter, code int, title, msg int) {
	s := p.s
	var buf bytes.Buffer
	if err := p.r.Done(&buf, web.Done{Lang: s.d.Lang, Title: s.text(title), Message: s.text(msg), AssetBase: "/l/assets/"}); err != nil {
		http.Error(w, s.text(msg), code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// parseCoord reads a coordinate typed with a point or a comma.
func parseCoord(v string) (float64, error) {
	v = strings.TrimSpace(strings.Replace(v, ",", ".", 1))
	if v == "" {
		return 0, errors.New("empty")
	}
	return strconv.ParseFloat(v, 64)
}

// clientIP is the peer address (the question log's client).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
