// Package viability is the job kind "fortics-viability": it serves the
// Fortics chatbot's "is there fibre at this address?" question on the
// bridge's HTTP server (connectors/fortics does the answering, OZmap is
// asked through connectors/ozmap), counts every answer in the metrics and
// appends it to a per-day question log that `fieldbridge viability log`
// prints.
package viability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/findme"
	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// KindName is the job kind's name.
const KindName = "fortics-viability"

// Options are a fortics-viability job's options (its [[job]] table).
type Options struct {
	// OZmap names the OZmap connection (a [connections.NAME] of type
	// "ozmap"). Required.
	OZmap string `toml:"ozmap"`
	// Path is where the question is served ("/fortics/viability").
	Path string `toml:"path"`
	// Token is the secret the chatbot sends (?token=, X-Token or
	// Authorization). Empty: the server's token.
	Token string `toml:"token" secret:"true"`

	// RadiusM is how far around the location a pole is searched (100).
	RadiusM float64 `toml:"radius_m"`
	// FeasibilityRadiusM is the feasibility radius around the pole
	// (default radius_m).
	FeasibilityRadiusM float64 `toml:"feasibility_radius_m"`
	// PoleLimit is how many nearest poles are asked for so that unusable
	// ones can be skipped (5).
	PoleLimit int `toml:"pole_limit"`
	// Deadline bounds a whole question (3s); CallTimeout each call to OZmap
	// or the geocoder (1.5s).
	Deadline    bridge.Duration `toml:"deadline"`
	CallTimeout bridge.Duration `toml:"call_timeout"`

	// Language of the messages: pt-BR, es or en; default the
	// configuration's language.
	Language string `toml:"language"`
	// Messages overrides messages by status or reason (found, not_found,
	// no_viability, invalid_request, unavailable, unauthorized,
	// rate_limited, missing_location, bad_coordinates, out_of_range,
	// need_coordinates, address_not_found, short_link, bad_body). Texts may
	// use {box}, {free_ports}, {distance}, {pole}, {lat}, {lng}.
	Messages map[string]string `toml:"messages"`

	// Cache turns the answer cache on (true).
	Cache bool `toml:"cache"`
	// CachePrecision is the decimals coordinates are rounded to for the
	// cache key (4 ≈ 11 m); CacheTTL how long an answer is reused (2m);
	// CacheSize the most answers kept (10000).
	CachePrecision int             `toml:"cache_precision"`
	CacheTTL       bridge.Duration `toml:"cache_ttl"`
	CacheSize      int             `toml:"cache_size"`

	// RateLimit is questions per second per client address (20; 0 turns
	// the limit off); RateBurst the burst (40).
	RateLimit float64 `toml:"rate_limit"`
	RateBurst int     `toml:"rate_burst"`
	// ClientIPHeader names the header a trusted reverse proxy puts the
	// client address in ("X-Forwarded-For"); empty: the peer address.
	ClientIPHeader string `toml:"client_ip_header"`
	// MaxBodyBytes bounds request bodies (16384).
	MaxBodyBytes int64 `toml:"max_body_bytes"`

	// GeocoderURL is a Nominatim-compatible API ("https://nominatim.openstreetmap.org"
	// or self-hosted); empty: addresses are refused, coordinates needed.
	GeocoderURL string `toml:"geocoder_url"`
	// GeocoderUserAgent identifies the bridge to the geocoder.
	GeocoderUserAgent string `toml:"geocoder_user_agent"`
	// GeocoderCountries limits geocoding to countries ("br").
	GeocoderCountries string `toml:"geocoder_countries"`
	// GeocoderTimeout bounds one geocoder call (default call_timeout).
	GeocoderTimeout bridge.Duration `toml:"geocoder_timeout"`

	// KeepDays is how many days of question logs, and of FindME links
	// (each holds the place a customer chose), a run keeps (90; 0 keeps
	// all). Give the job a schedule ("@daily") to prune.
	KeepDays int `toml:"keep_days"`

	// FindME, when its table is present ([job.findme]), also serves
	// FindME: the bot asks for an SMS link, the customer chooses the
	// location on a page (bridge/findme).
	FindME *findme.Options `toml:"findme"`
}

// DefaultOptions returns the options with every default filled in.
func DefaultOptions() *Options {
	d := fortics.DefaultOptions()
	return &Options{
		Path:           "/fortics/viability",
		RadiusM:        d.RadiusM,
		PoleLimit:      d.PoleLimit,
		Deadline:       bridge.Duration{Duration: d.Deadline},
		CallTimeout:    bridge.Duration{Duration: d.CallTimeout},
		Cache:          true,
		CachePrecision: d.CachePrecision,
		CacheTTL:       bridge.Duration{Duration: d.CacheTTL},
		CacheSize:      d.CacheSize,
		RateLimit:      d.RateLimit,
		RateBurst:      d.RateBurst,
		MaxBodyBytes:   d.MaxBodyBytes,
		KeepDays:       90,
	}
}

// Kind returns the fortics-viability job kind.
func Kind() bridge.Kind {
	return bridge.Kind{
		Name:       KindName,
		Summary:    "answers a Fortics chatbot's \"is there fibre at this address?\" over HTTP (OZmap poles + feasibility)",
		NewOptions: func() any { return DefaultOptions() },
		New: func(env *bridge.Env, spec bridge.JobSpec, opts any) (bridge.Job, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("%s: options are %T, want *viability.Options", KindName, opts)
			}
			return New(env, spec, o)
		},
	}
}

// Job serves the viability question. It implements bridge.Job,
// bridge.Handler and io.Closer.
type Job struct {
	name    string
	opts    Options
	handler *fortics.Handler
	findme  *findme.Service // nil without [job.findme]
	qlog    *questionLog
	metrics *metrics
	log     *slog.Logger
}

// New validates the options and builds the job; it does no I/O. Every
// problem is returned at once, each naming its option key.
func New(env *bridge.Env, spec bridge.JobSpec, o *Options) (*Job, error) {
	return NewWithNetwork(env, spec, o, nil)
}

// NewWithNetwork is New with the network given instead of built from the
// ozmap connection (tests, the demo, benchmarks); nil builds it as New does.
func NewWithNetwork(env *bridge.Env, spec bridge.JobSpec, o *Options, network fortics.Network) (*Job, error) {
	return newJob(env, spec, o, network, nil)
}

// newJob builds the job; sender, when not nil, sends FindME's SMS instead
// of the findme.sms connection (tests).
func newJob(env *bridge.Env, spec bridge.JobSpec, o *Options, network fortics.Network, sender findme.Sender) (*Job, error) {
	var errs []error
	if o.OZmap == "" && network == nil {
		errs = append(errs, errors.New("ozmap: name the OZmap connection (a connection of type \"ozmap\")"))
	}
	if !strings.HasPrefix(o.Path, "/") || strings.ContainsAny(o.Path, " {}") || strings.HasSuffix(o.Path, "/") {
		errs = append(errs, fmt.Errorf("path: %q must start with / and not end with / (e.g. /fortics/viability)", o.Path))
	}
	if o.KeepDays < 0 {
		errs = append(errs, fmt.Errorf("keep_days: %d must not be negative", o.KeepDays))
	}
	token := o.Token
	if token == "" {
		token = serverToken(env)
	}
	if token == "" {
		errs = append(errs, errors.New("token: set the job's token or the server's token (the chatbot sends it as ?token=)"))
	}
	if o.FindME != nil {
		if err := o.FindME.Check("findme."); err != nil {
			errs = append(errs, err)
		} else if sender == nil {
			var err error
			if sender, err = smsSender(env, o.FindME.SMS); err != nil {
				errs = append(errs, fmt.Errorf("findme.sms: %w", err))
			}
		}
	}
	if network == nil && o.OZmap != "" {
		n, err := ozmapNetwork(env, o.OZmap)
		if err != nil {
			errs = append(errs, fmt.Errorf("ozmap: %w", err))
		}
		network = n
	}
	var geocoder fortics.Geocoder
	if o.GeocoderURL != "" {
		to := o.GeocoderTimeout.Duration
		if to == 0 {
			to = o.CallTimeout.Duration
		}
		g, err := fortics.NewNominatim(fortics.NominatimOptions{URL: o.GeocoderURL, UserAgent: o.GeocoderUserAgent,
			CountryCodes: o.GeocoderCountries, Language: o.Language, Timeout: to})
		if err != nil {
			errs = append(errs, err)
		}
		geocoder = g
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	log := slog.New(slog.DiscardHandler)
	cfg := bridge.DefaultConfig()
	if env != nil {
		if env.Log != nil {
			log = env.Log // the engine's logger for this job
		}
		if env.Config != nil {
			cfg = env.Config
		}
	}
	lang := o.Language
	if lang == "" {
		lang = configLanguage(env)
	}
	j := &Job{name: spec.Name, opts: *o, log: log, metrics: newMetrics(registerer(env), spec.Name),
		qlog: newQuestionLog(LogDir(cfg, spec.Name), cfg.Location(), 8192)}

	rate := o.RateLimit
	if rate == 0 {
		rate = -1 // off
	}
	h, err := fortics.New(fortics.Options{
		Network: network, Geocoder: geocoder, Token: token, Path: o.Path,
		RadiusM: o.RadiusM, FeasibilityRadiusM: o.FeasibilityRadiusM, PoleLimit: o.PoleLimit,
		Deadline: o.Deadline.Duration, CallTimeout: o.CallTimeout.Duration,
		Language: lang, Messages: o.Messages,
		CacheDisabled: !o.Cache, CachePrecision: o.CachePrecision, CacheTTL: o.CacheTTL.Duration, CacheSize: o.CacheSize,
		RateLimit: rate, RateBurst: o.RateBurst, ClientIPHeader: o.ClientIPHeader, MaxBodyBytes: o.MaxBodyBytes,
		OnAnswer: j.record, Log: log,
	})
	if err != nil {
		return nil, err
	}
	j.handler = h
	if o.FindME != nil && env != nil && env.Ledger != nil { // (no ledger: the config is only checked)
		l := env.Ledger
		f, err := findme.New(*o.FindME, findme.Deps{Job: spec.Name, Token: token, Lang: lang, Sender: sender,
			Asker: h, Ledger: l, Log: log})
		if err != nil {
			return nil, err
		}
		j.findme = f
	}
	return j, nil
}

// LogDir is the folder of a viability job's question logs (one
// YYYY-MM-DD.jsonl file per day) inside the job's data folder.
func LogDir(cfg *bridge.Config, job string) string {
	return filepath.Join(cfg.JobDataDir(job), "questions")
}

// record counts an answer and queues it for the day's log. Never blocks.
func (j *Job) record(r fortics.Record) {
	j.metrics.observe(j.name, r)
	before := j.qlog.dropped.Load()
	j.qlog.add(r)
	if j.qlog.dropped.Load() != before {
		j.metrics.dropped.Inc()
	}
}

// Routes serves the question at the configured path (any method; the
// handler answers 405 in JSON) and answers JSON 404s below it. The routes
// are Public to the server: the handler checks the token itself, because
// chatbots can only send it as a query parameter.
func (j *Job) Routes() []bridge.Route {
	rs := []bridge.Route{
		{Pattern: j.opts.Path, Handler: j.handler, Public: true, Logged: true},
		{Pattern: j.opts.Path + "/", Handler: j.handler, Public: true, Logged: true},
	}
	if j.findme != nil {
		rs = append(rs, j.findme.Routes()...)
	}
	return rs
}

// FindME returns the FindME service (nil when not configured).
func (j *Job) FindME() *findme.Service { return j.findme }

// Handler returns the HTTP handler (for tests and the demo).
func (j *Job) Handler() *fortics.Handler { return j.handler }

// Run prunes question logs older than keep_days, expires FindME's
// waiting links past their time and forgets its links older than
// keep_days. Questions are answered by the HTTP routes, not by runs.
func (j *Job) Run(ctx context.Context, rc *bridge.RunContext) error {
	n, err := j.qlog.prune(rc.Now(), j.opts.KeepDays)
	rc.Count("pruned", int64(n))
	if err != nil {
		rc.Problem(j.qlog.dir, "could not remove an old question log: "+err.Error())
	}
	if j.findme != nil {
		n, err := j.findme.Sweep(ctx)
		rc.Count("findme_expired", int64(n))
		if err != nil {
			return fmt.Errorf("findme: expiring old links: %w", err)
		}
		if j.opts.KeepDays > 0 {
			n, err := j.findme.Forget(ctx, rc.Now().AddDate(0, 0, -j.opts.KeepDays))
			rc.Count("findme_forgotten", n)
			if err != nil {
				return fmt.Errorf("findme: forgetting old links: %w", err)
			}
		}
	}
	return nil
}

// Close writes the queued records of the question log and stops its
// writer. The engine calls it at shutdown.
func (j *Job) Close() error {
	if j.findme != nil {
		j.findme.Close()
	}
	return j.qlog.close()
}

// StatusSummary is one line for the engine's status page: the questions
// answered today (since the daemon started) by outcome.
func (j *Job) StatusSummary() string {
	day, counts := j.qlog.todayCounts()
	if today := time.Now().In(j.qlog.loc).Format(time.DateOnly); day != today {
		return "no questions today"
	}
	total := 0
	keys := make([]string, 0, len(counts))
	for k, v := range counts {
		total += v
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, counts[k])
	}
	return fmt.Sprintf("today: %d questions (%s)", total, strings.Join(parts, ", "))
}

// Today summarizes today's questions (for the status page).
func (j *Job) Today() (Summary, error) {
	day := time.Now().In(j.qlog.loc).Format(time.DateOnly)
	recs, err := ReadDay(j.qlog.dir, day)
	return Summarize(day, recs), err
}
