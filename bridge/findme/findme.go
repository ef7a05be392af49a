// Package findme is FindME for the chatbot viability flow
// (shared/contracts/findme.md): instead of sharing a position, typing an
// address or coordinates, the customer gives a mobile number, receives an
// SMS with a link, opens it and chooses the location on a page; the
// location goes through the same viability question, and the bot polls
// for the answer.
//
// Routes (Service.Routes):
//
//	POST <path>            the bot asks for a link to be sent (token)
//	GET  <path>/<id>       the bot polls: waiting, then the flat answer, or expired (token)
//	GET  /l/<token>        the customer's page (public: the token is the key)
//	POST /l/<token>        the customer's choice
//	GET  /l/assets/…       the page's CSS, script and Leaflet
//
// A link is a random capability of 128 bits, single use, expiring after
// link_ttl. Only its SHA-256 is kept; the id the bot polls with is derived
// from it (so the id does not open the page). Phone numbers are masked in
// every answer and log line; the full number is used to send the SMS and
// never stored (the ledger keeps the masked form only).
package findme

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// Options are the [job.findme] table of a fortics-viability job.
type Options struct {
	// PublicURL is where customers reach this bridge's HTTP server
	// ("https://fibra.example.com.br"); the SMS link is <public_url>/l/<token>.
	PublicURL string `toml:"public_url"`
	// SMS names the connection (type "sms") the links are sent through.
	SMS string `toml:"sms"`
	// Path is the bot's route ("/fortics/findme").
	Path string `toml:"path"`
	// LinkTTL is how long a link works (30m).
	LinkTTL bridge.Duration `toml:"link_ttl"`
	// SMSText is the SMS per language ("pt-BR", "es", "en"), with {link}
	// and {minutes}; the defaults fit one 160-character SMS.
	SMSText map[string]string `toml:"sms_text"`
	// PerNumber is how many links one phone number may be sent per hour
	// (3); PerToken how many link requests per minute the bot's token may
	// make (60).
	PerNumber int `toml:"rate_per_number"`
	PerToken  int `toml:"rate_per_token"`
	// CallbackURL, when set, receives the answer as a POST (JSON, with the
	// id and the bot's chat) once the customer confirms; retried for a
	// minute. CallbackToken is sent as a Bearer token.
	CallbackURL   string `toml:"callback_url"`
	CallbackToken string `toml:"callback_token" secret:"true"`
	// TileURL is the map tiles' URL template and Attribution the text its
	// provider requires (OpenStreetMap by default). The page works without
	// tiles.
	TileURL     string `toml:"tile_url"`
	Attribution string `toml:"attribution"`
	// MapLat, MapLng and MapZoom centre the map before a position is known
	// (Brazil).
	MapLat  float64 `toml:"map_lat"`
	MapLng  float64 `toml:"map_lng"`
	MapZoom int     `toml:"map_zoom"`
	// Country is the calling code of numbers given without one ("55").
	Country string `toml:"country"`
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{Path: "/fortics/findme", LinkTTL: bridge.Duration{Duration: 30 * time.Minute}, PerNumber: 3, PerToken: 60,
		TileURL: "https://tile.openstreetmap.org/{z}/{x}/{y}.png", Attribution: "© OpenStreetMap contributors",
		MapLat: -15.78, MapLng: -47.93, MapZoom: 4, Country: "55"}
}

// withDefaults fills unset options.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Path == "" {
		o.Path = d.Path
	}
	if o.LinkTTL.Duration == 0 {
		o.LinkTTL = d.LinkTTL
	}
	if o.PerNumber == 0 {
		o.PerNumber = d.PerNumber
	}
	if o.PerToken == 0 {
		o.PerToken = d.PerToken
	}
	if o.TileURL == "" {
		o.TileURL, o.Attribution = d.TileURL, d.Attribution
	}
	if o.MapLat == 0 && o.MapLng == 0 {
		o.MapLat, o.MapLng, o.MapZoom = d.MapLat, d.MapLng, d.MapZoom
	}
	if o.MapZoom == 0 {
		o.MapZoom = 15
	}
	if o.Country == "" {
		o.Country = d.Country
	}
	return o
}

// Check validates the options (with prefix before each key, e.g.
// "findme."), every problem at once.
func (o Options) Check(prefix string) error {
	o = o.withDefaults()
	var errs []error
	u, err := url.Parse(o.PublicURL)
	switch {
	case o.PublicURL == "":
		errs = append(errs, fmt.Errorf("%spublic_url: missing; the address customers open, e.g. https://fibra.example.com.br", prefix))
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "":
		errs = append(errs, fmt.Errorf("%spublic_url: %q is not an http(s) address without a query", prefix, o.PublicURL))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		errs = append(errs, fmt.Errorf("%spublic_url: %q must be https (the link is a key to the page)", prefix, o.PublicURL))
	}
	if o.SMS == "" {
		errs = append(errs, fmt.Errorf("%ssms: name the SMS connection (a connection of type \"sms\")", prefix))
	}
	if !strings.HasPrefix(o.Path, "/") || strings.HasSuffix(o.Path, "/") || strings.HasPrefix(o.Path, "/l/") || o.Path == "/l" {
		errs = append(errs, fmt.Errorf("%spath: %q must start with / and not end with / (and /l is the customers' page)", prefix, o.Path))
	}
	if o.LinkTTL.Duration < time.Minute || o.LinkTTL.Duration > 24*time.Hour {
		errs = append(errs, fmt.Errorf("%slink_ttl: %v must be between 1m and 24h", prefix, o.LinkTTL.Duration))
	}
	if o.PerNumber < 0 || o.PerToken < 0 {
		errs = append(errs, fmt.Errorf("%srate_per_number, rate_per_token: must not be negative", prefix))
	}
	for lang, t := range o.SMSText {
		if !strings.Contains(t, "{link}") {
			errs = append(errs, fmt.Errorf("%ssms_text.%s: must contain {link}", prefix, lang))
		}
	}
	if o.CallbackURL != "" {
		if cu, err := url.Parse(o.CallbackURL); err != nil || (cu.Scheme != "https" && cu.Scheme != "http") || cu.Host == "" {
			errs = append(errs, fmt.Errorf("%scallback_url: %q is not an http(s) address", prefix, o.CallbackURL))
		}
	}
	if !strings.Contains(o.TileURL, "{z}") || !strings.HasPrefix(o.TileURL, "https://") && !strings.HasPrefix(o.TileURL, "http://") {
		errs = append(errs, fmt.Errorf("%stile_url: %q must be an http(s) template with {z}, {x} and {y}", prefix, o.TileURL))
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// Sender sends one SMS (connectors/sms.Client).
type Sender interface {
	Send(ctx context.Context, to, text string) (id string, err error)
}

// Asker answers a viability question for a chosen location
// (fortics.Handler.Ask).
type Asker interface {
	Ask(ctx context.Context, input, client string, lat, lng float64, address string) fortics.Answer
}

// Deps are what a Service works with.
type Deps struct {
	Job    string // the job's name (its ledger items)
	Token  string // the bot's token
	Lang   string // pt-BR, es or en
	Sender Sender
	Asker  Asker
	Ledger ledger.Ledger
	Log    *slog.Logger
	Now    func() time.Time // nil: time.Now
	// Deliver posts the answer to the callback (tests); nil: HTTP.
	Deliver func(ctx context.Context, body []byte) error
}

// Service is FindME for one viability job. It is safe for concurrent use.
type Service struct {
	o        Options
	d        Deps
	tokenSum [32]byte
	page     *pageServer

	mu       sync.Mutex
	perPhone map[string][]time.Time // sends in the last hour, by number
	perToken *rate.Limiter
	using    map[string]bool // links being confirmed right now
	bg       sync.WaitGroup  // callbacks
	stop     context.CancelFunc
	bgCtx    context.Context
}

// New checks the options and builds the service; it does no I/O.
func New(o Options, d Deps) (*Service, error) {
	if err := o.Check(""); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	if d.Sender == nil || d.Asker == nil || d.Ledger == nil {
		return nil, errors.New("findme: Sender, Asker and Ledger are required")
	}
	if d.Token == "" {
		return nil, errors.New("findme: the bot's token is empty")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Lang = lang(d.Lang)
	s := &Service{o: o, d: d, tokenSum: sha256.Sum256([]byte(d.Token)), perPhone: map[string][]time.Time{},
		using: map[string]bool{}}
	if o.PerToken > 0 {
		s.perToken = rate.NewLimiter(rate.Limit(float64(o.PerToken)/60), max(o.PerToken/6, 1))
	}
	s.bgCtx, s.stop = context.WithCancel(context.Background())
	p, err := newPageServer(s)
	if err != nil {
		return nil, err
	}
	s.page = p
	return s, nil
}

// Close stops the callbacks under way.
func (s *Service) Close() error {
	s.stop()
	s.bg.Wait()
	return nil
}

// Link states.
const (
	StateWaiting  = "waiting"
	StateAnswered = "answered"
	StateExpired  = "expired"
)

// link is one FindME link in the ledger (item "findme:<id>", JSON in
// Message). The full phone number is never stored: it is only needed to
// send the SMS, and only its masked form is kept.
type link struct {
	TokenSum string          `json:"token_sum"` // hex SHA-256 of the token
	Masked   string          `json:"masked"`
	Chat     string          `json:"chat,omitempty"`
	Created  time.Time       `json:"created"`
	Expires  time.Time       `json:"expires"`
	State    string          `json:"state"`
	Answer   *fortics.Answer `json:"answer,omitempty"`
	Source   string          `json:"source,omitempty"` // gps, map, typed, address
}

const itemPrefix = "findme:"

// newToken returns a random link token (128 bits, 22 characters) and the
// id the bot polls with: the first 16 bytes of the token's SHA-256, in
// hex (the id does not open the page).
func newToken() (token, id string, sum [32]byte) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	sum = sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(sum[:16]), sum
}

// idOf is the id of a token.
func idOf(token string) (string, [32]byte) {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16]), sum
}

func (s *Service) load(ctx context.Context, id string) (link, error) {
	var l link
	it, err := s.d.Ledger.GetItem(ctx, s.d.Job, itemPrefix+id)
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal([]byte(it.Message), &l); err != nil {
		return l, fmt.Errorf("findme: ledger item %s: %w", id, err)
	}
	return l, nil
}

func (s *Service) save(ctx context.Context, id string, l link) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return s.d.Ledger.PutItem(ctx, ledger.Item{Job: s.d.Job, Key: itemPrefix + id, Outcome: l.State, Message: string(b),
		Updated: s.d.Now()})
}

// expire turns a waiting link past its time into an expired one; it
// reports whether l changed.
func (s *Service) expire(l *link) bool {
	if l.State == StateWaiting && !s.d.Now().Before(l.Expires) {
		l.State = StateExpired
		return true
	}
	return false
}

// Sweep marks the waiting links past their time expired (the job's runs
// call it).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	var due []string
	err := s.d.Ledger.ItemsWithPrefix(ctx, s.d.Job, itemPrefix, func(it ledger.Item) error {
		if it.Outcome != StateWaiting {
			return nil
		}
		var l link
		if json.Unmarshal([]byte(it.Message), &l) == nil && !s.d.Now().Before(l.Expires) {
			due = append(due, strings.TrimPrefix(it.Key, itemPrefix))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		l, err := s.load(ctx, id)
		if err != nil {
			return n, err
		}
		if s.expire(&l) {
			if err := s.save(ctx, id, l); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Forget deletes the links last changed before `before` (answered or
// expired ones: Sweep has just expired every waiting link past its time):
// an answer holds where a customer said they are, and is not kept longer
// than the job's keep_days. It returns how many went; a ledger that cannot
// delete items keeps them.
func (s *Service) Forget(ctx context.Context, before time.Time) (int64, error) {
	p, ok := s.d.Ledger.(ledger.ItemPruner)
	if !ok {
		return 0, nil
	}
	return p.PruneItems(ctx, s.d.Job, itemPrefix, before)
}

// tokenOK compares a presented bot token in constant time.
func (s *Service) tokenOK(got string) bool {
	sum := sha256.Sum256([]byte(got))
	return got != "" && subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

// allowNumber counts a send to phone against its hourly limit.
func (s *Service) allowNumber(phone string) bool {
	if s.o.PerNumber <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.d.Now()
	recent := s.perPhone[phone][:0]
	for _, t := range s.perPhone[phone] {
		if now.Sub(t) < time.Hour {
			recent = append(recent, t)
		}
	}
	if len(recent) >= s.o.PerNumber {
		s.perPhone[phone] = recent
		return false
	}
	s.perPhone[phone] = append(recent, now)
	if len(s.perPhone) > 100_000 { // bounded: forget the quiet numbers
		for k, ts := range s.perPhone {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Hour {
				delete(s.perPhone, k)
			}
		}
	}
	return true
}

// smsText is the SMS for a link.
func (s *Service) smsText(link string) string {
	t := s.o.SMSText[s.d.Lang]
	if t == "" {
		t = texts[s.d.Lang][txtSMS]
	}
	minutes := int(s.o.LinkTTL.Duration.Round(time.Minute) / time.Minute)
	return strings.NewReplacer("{link}", link, "{minutes}", fmt.Sprint(minutes)).Replace(t)
}

// linkURL is the page's address for a token.
func (s *Service) linkURL(token string) string {
	return strings.TrimSuffix(s.o.PublicURL, "/") + "/l/" + token
}
