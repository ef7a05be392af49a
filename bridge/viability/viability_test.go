package viability

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
	"github.com/fieldbridge/fieldbridge/connectors/fortics"
	"github.com/fieldbridge/fieldbridge/connectors/fortics/forticstest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
)

const testToken = "chatbot-t0ken"

type world struct {
	fake   *ozmaptest.Server
	geo    *forticstest.Geocoder
	places viabilitytest.Places
	job    *Job
	bot    *forticstest.Bot
	url    string
	dir    string
	cfg    *bridge.Config
}

// newWorld starts the OZmap and geocoder fakes, seeds them, builds the job
// with edit applied to its options and serves its routes the way the
// engine does (a ServeMux).
func newWorld(t *testing.T, edit func(*Options)) *world {
	t.Helper()
	w := &world{fake: ozmaptest.New(ozmaptest.Options{}), geo: forticstest.NewGeocoder()}
	t.Cleanup(w.fake.Close)
	t.Cleanup(w.geo.Close)
	w.places = viabilitytest.Seed(w.fake)
	viabilitytest.SeedGeocoder(w.geo, w.places)

	o := DefaultOptions()
	o.OZmap = "ozmap"
	o.Token = testToken
	o.RateLimit = 0
	o.GeocoderURL = w.geo.URL()
	if edit != nil {
		edit(o)
	}
	oo := ozmap.Options{BaseURL: w.fake.URL(), Key: w.fake.Key()}
	oo.RetryBase = 20 * time.Millisecond
	client, err := ozmap.New(oo)
	if err != nil {
		t.Fatal(err)
	}
	w.dir = t.TempDir()
	w.cfg = bridge.DefaultConfig()
	w.cfg.DataDir = w.dir
	env := &bridge.Env{Config: w.cfg}
	w.job, err = NewWithNetwork(env, bridge.JobSpec{Name: "viability", Kind: KindName}, o, OZmapNetwork(client))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.job.Close() })
	mux := http.NewServeMux()
	for _, r := range w.job.Routes() {
		if !r.Public {
			t.Fatalf("route %s not public: the handler checks its own token", r.Pattern)
		}
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	w.bot = &forticstest.Bot{URL: srv.URL + o.Path, Token: testToken}
	return w
}

var keys = "box box_distance_m checked_at free_ports lat lng message pole status viable"

func (w *world) ask(t *testing.T, q forticstest.Question) forticstest.Reply {
	t.Helper()
	rp, err := w.bot.Ask(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rp.Keys, " "); got != keys {
		t.Fatalf("answer keys %q, want %q: %s", got, keys, rp.Raw)
	}
	return rp
}

func at(p viabilitytest.Point) forticstest.Question {
	return forticstest.Question{Shape: forticstest.QueryLatLng, Lat: p.Lat, Lng: p.Lng}
}

func TestOutcomesAgainstOZmapFake(t *testing.T) {
	w := newWorld(t, nil)
	rp := w.ask(t, at(w.places.Found))
	a := rp.Answer
	if rp.Code != 200 || a.Status != "found" || !a.Viable || a.Box != viabilitytest.FoundBox || a.FreePorts != 6 || a.Pole != viabilitytest.FoundPole ||
		a.Message != "Encontramos viabilidade no seu endereço." || a.Lat != w.places.Found.Lat {
		t.Fatalf("found: %d %s", rp.Code, rp.Raw)
	}
	if a.BoxDistanceM < 40 || a.BoxDistanceM > 60 { // ≈ 49 m from the asked point to CTO 22-05
		t.Fatalf("box distance %v", a.BoxDistanceM)
	}

	rp = w.ask(t, at(w.places.NoViability))
	if rp.Code != 200 || rp.Answer.Status != "no_viability" || rp.Answer.Viable || rp.Answer.Box != "" || rp.Answer.Pole != viabilitytest.FullPole ||
		!strings.HasPrefix(rp.Answer.Message, "Área sem viabilidade") {
		t.Fatalf("no_viability: %d %s", rp.Code, rp.Raw)
	}

	feasBefore := w.fake.Calls("/ftth-viability/radius")
	rp = w.ask(t, at(w.places.NotFound))
	if rp.Code != 200 || rp.Answer.Status != "not_found" || rp.Answer.Pole != "" || rp.Answer.Message != "Não encontramos rede de fibra perto deste endereço." {
		t.Fatalf("not_found: %d %s", rp.Code, rp.Raw)
	}
	if w.fake.Calls("/ftth-viability/radius") != feasBefore {
		t.Fatal("feasibility asked without a pole")
	}
	if q := w.fake.LastQuery("/poles"); !strings.Contains(q, "near") || !strings.Contains(q, "limit=5") {
		t.Fatalf("poles query %q: want near filter and limit 5", q)
	}
}

func TestUnusableNearestPole(t *testing.T) {
	w := newWorld(t, nil)
	// At Found the nearest pole (P_0001) is unusable: the answer names the
	// next one, P_2520.
	if rp := w.ask(t, at(w.places.Found)); rp.Answer.Pole != viabilitytest.FoundPole {
		t.Fatalf("%s", rp.Raw)
	}
	// Where the only pole in range is unusable, there is nothing to sell.
	if rp := w.ask(t, at(w.places.UnusableOnly)); rp.Answer.Status != "not_found" {
		t.Fatalf("only an unusable pole: %s", rp.Raw)
	}
	if n := w.fake.Calls("/ftth-viability/radius"); n != 1 {
		t.Fatalf("feasibility asked %d times, want 1 (not for the unusable pole)", n)
	}
}

func TestEveryInputShape(t *testing.T) {
	w := newWorld(t, func(o *Options) { o.Cache = false })
	for _, in := range []string{forticstest.TokenInQuery, forticstest.TokenInHeader, forticstest.TokenInBearer, forticstest.TokenInBody} {
		w.bot.TokenIn = in
		for _, s := range append(forticstest.CoordShapes, forticstest.AddressShapes...) {
			t.Run(in+"/"+string(s), func(t *testing.T) {
				rp := w.ask(t, forticstest.Question{Shape: s, Lat: w.places.Found.Lat, Lng: w.places.Found.Lng, Address: w.places.Address})
				if rp.Code != 200 || rp.Answer.Status != "found" || rp.Answer.Box != viabilitytest.FoundBox {
					t.Fatalf("%d %s", rp.Code, rp.Raw)
				}
			})
		}
	}
}

func TestBadInputWrongTokenNoHTML(t *testing.T) {
	w := newWorld(t, func(o *Options) { o.GeocoderURL = "" })
	tests := []struct {
		name, method, target, body string
		code                       int
		status, msg                string
	}{
		{"no location", "GET", "/fortics/viability?token=" + testToken, "", 400, "invalid_request", "Envie a localização"},
		{"garbage coords", "GET", "/fortics/viability?token=" + testToken + "&coords=amanha", "", 400, "invalid_request", "Não entendi as coordenadas"},
		{"latitude 123", "GET", "/fortics/viability?token=" + testToken + "&lat=123&lng=-48", "", 400, "invalid_request", "fora do intervalo"},
		{"address without geocoder", "GET", "/fortics/viability?token=" + testToken + "&address=Rua+das+Flores,+100", "", 400, "invalid_request", "Envie a localização ou as coordenadas"},
		{"json not json", "POST", "/fortics/viability?token=" + testToken, "{lat", 400, "invalid_request", "Pedido inválido"},
		{"huge body", "POST", "/fortics/viability?token=" + testToken, `{"address":"` + strings.Repeat("a", 20000) + `"}`, 413, "invalid_request", "Pedido inválido"},
		{"wrong token", "GET", "/fortics/viability?token=guess&lat=-27.576&lng=-48.527", "", 401, "unauthorized", "token"},
		{"no token", "GET", "/fortics/viability?lat=-27.576&lng=-48.527", "", 401, "unauthorized", "token"},
		{"405", "PUT", "/fortics/viability?token=" + testToken, "", 405, "invalid_request", "GET ou POST"},
		{"404 below the route", "GET", "/fortics/viability/extra?token=" + testToken, "", 404, "invalid_request", "desconhecido"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, w.url+tt.target, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rp, err := w.bot.Do(req) // fails on anything but a JSON object
			if err != nil {
				t.Fatal(err)
			}
			if rp.Code != tt.code || rp.Answer.Status != tt.status || !strings.Contains(rp.Answer.Message, tt.msg) {
				t.Fatalf("%d %s; want %d %s %q", rp.Code, rp.Raw, tt.code, tt.status, tt.msg)
			}
		})
	}
	if n := w.fake.TotalCalls(); n != 0 {
		t.Fatalf("refused questions reached OZmap %d times", n)
	}
}

func TestOZmapFailuresAnswer503WithinDeadline(t *testing.T) {
	const deadline = 400 * time.Millisecond
	cases := []struct {
		name  string
		fault func(*ozmaptest.Server)
	}{
		{"slow", func(f *ozmaptest.Server) { f.SetLatency(5 * time.Second) }},
		{"refusing 503", func(f *ozmaptest.Server) { f.FailNext(1000, 503) }},
		{"rate limited 429", func(f *ozmaptest.Server) { f.SetRetryAfter("30"); f.FailNext(1000, 429) }},
		{"dropping connections", func(f *ozmaptest.Server) { f.DropNext(1000) }},
		{"wrong key 401", func(f *ozmaptest.Server) { f.SetKey("another") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, func(o *Options) {
				o.Deadline = bridge.Duration{Duration: deadline}
				o.CallTimeout = bridge.Duration{Duration: 300 * time.Millisecond}
			})
			c.fault(w.fake)
			start := time.Now()
			rp := w.ask(t, at(w.places.Found))
			took := time.Since(start)
			if rp.Code != 503 || rp.Answer.Status != "unavailable" || !strings.Contains(rp.Answer.Message, "Tente novamente") {
				t.Fatalf("%d %s", rp.Code, rp.Raw)
			}
			if took > deadline+600*time.Millisecond { // slack for a loaded machine; the fault lasts 5 s or forever
				t.Fatalf("answered after %v; deadline %v", took, deadline)
			}
		})
	}
}

func TestCacheAgainstOZmapFake(t *testing.T) {
	w := newWorld(t, nil)
	first := w.ask(t, at(w.places.Found))
	for range 5 {
		q := at(w.places.Found)
		q.Lat += 0.00002 // same 4-decimal cell
		q.Shape = forticstest.QueryCoords
		if rp := w.ask(t, q); rp.Answer.Box != first.Answer.Box || rp.Answer.CheckedAt != first.Answer.CheckedAt {
			t.Fatalf("cached answer differs: %s vs %s", rp.Raw, first.Raw)
		}
	}
	if p, f := w.fake.Calls("/poles"), w.fake.Calls("/ftth-viability/radius"); p != 1 || f != 1 {
		t.Fatalf("OZmap asked %d/%d times for one place, want 1/1", p, f)
	}
	w.ask(t, at(w.places.NoViability)) // another cell: asked
	if p := w.fake.Calls("/poles"); p != 2 {
		t.Fatalf("another place: %d pole calls, want 2", p)
	}

	off := newWorld(t, func(o *Options) { o.Cache = false })
	off.ask(t, at(off.places.Found))
	off.ask(t, at(off.places.Found))
	if p := off.fake.Calls("/poles"); p != 2 {
		t.Fatalf("cache off: %d pole calls, want 2", p)
	}
}

func TestSingleflightAgainstOZmapFake(t *testing.T) {
	w := newWorld(t, func(o *Options) { o.Cache = false })
	w.fake.SetLatency(750 * time.Millisecond)
	const n = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	for range n {
		wg.Go(func() {
			rp, err := w.bot.Ask(context.Background(), at(w.places.Found))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			statuses[rp.Answer.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses["found"] != n {
		t.Fatalf("statuses %v", statuses)
	}
	// The questions arrive within a few ms; the first flight lasts 1.5 s
	// (two calls of 750 ms), so all of them share it.
	if p, f := w.fake.Calls("/poles"), w.fake.Calls("/ftth-viability/radius"); p != 1 || f != 1 {
		t.Fatalf("%d concurrent identical questions: %d pole and %d feasibility calls, want 1 and 1", n, p, f)
	}
}

func TestRateLimitPerClient(t *testing.T) {
	w := newWorld(t, func(o *Options) { o.RateLimit = 1; o.RateBurst = 2 })
	var codes []int
	for range 4 {
		codes = append(codes, w.ask(t, at(w.places.Found)).Code)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 || codes[3] != 429 {
		t.Fatalf("codes %v", codes)
	}
}

func TestEveryAnswerRecorded(t *testing.T) {
	w := newWorld(t, nil)
	w.ask(t, at(w.places.Found))
	w.ask(t, at(w.places.Found))
	w.ask(t, at(w.places.NoViability))
	w.ask(t, at(w.places.NotFound))
	w.ask(t, forticstest.Question{Shape: forticstest.QueryAddress, Address: w.places.Address})
	w.bot.Token = "wrong"
	w.ask(t, at(w.places.Found))

	m := w.job.metrics
	for status, want := range map[string]float64{"found": 3, "no_viability": 1, "not_found": 1, "unauthorized": 1, "unavailable": 0} {
		if got := counterValue(t, m.byStatus[status]); got != want {
			t.Errorf("metric %s = %v, want %v", status, got, want)
		}
	}
	var hist dto.Metric
	if err := m.lat[1].(prometheus.Metric).Write(&hist); err != nil || hist.GetHistogram().GetSampleCount() < 2 {
		t.Errorf("cached latency samples %d (%v), want >= 2", hist.GetHistogram().GetSampleCount(), err)
	}
	if err := w.job.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := w.job.StatusSummary(), "today: 6 questions (found 3, no_viability 1, not_found 1, unauthorized 1)"; got != want {
		t.Errorf("status summary %q, want %q", got, want)
	}
	sum, err := w.job.Today()
	if err != nil || sum.Total != 6 || sum.ByStatus["found"] != 3 || sum.Cached < 2 {
		t.Fatalf("today %+v %v", sum, err)
	}
	day := time.Now().In(w.job.qlog.loc).Format(time.DateOnly)
	recs, _ := ReadDay(LogDir(w.cfg, "viability"), day)
	var addr *fortics.Record
	for i := range recs {
		if recs[i].Input == fortics.InputAddress {
			addr = &recs[i]
		}
	}
	if addr == nil || addr.Query != w.places.Address || addr.Status != "found" || addr.Box != viabilitytest.FoundBox {
		t.Fatalf("address question not recorded as such: %+v", recs)
	}
}

func TestKindChecksOptions(t *testing.T) {
	k := Kind()
	o := k.NewOptions().(*Options)
	o.Path = "fortics"
	o.Language = "fr"
	o.GeocoderURL = "ftp://x"
	_, err := k.New(&bridge.Env{Config: &bridge.Config{}}, bridge.JobSpec{Name: "v"}, o)
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, key := range []string{"ozmap:", "path:", "token:", "geocoder_url:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestMetricsOnTheEngineRegistry(t *testing.T) {
	m := bridge.NewMetrics()
	w := newWorld(t, nil)
	cfg := bridge.DefaultConfig()
	cfg.DataDir = t.TempDir()
	var jobs []*Job
	for _, name := range []string{"chat-a", "chat-b"} { // two jobs share the registry
		o := DefaultOptions()
		o.Token, o.RateLimit = testToken, 0
		j, err := NewWithNetwork(&bridge.Env{Config: cfg, Metrics: m}, bridge.JobSpec{Name: name, Kind: KindName}, o, w.job.handler.Options().Network)
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		jobs = append(jobs, j)
	}
	srv := httptest.NewServer(jobs[1].Handler())
	defer srv.Close()
	bot := &forticstest.Bot{URL: srv.URL + "/fortics/viability", Token: testToken}
	if rp, err := bot.Ask(context.Background(), at(w.places.Found)); err != nil || rp.Answer.Status != "found" {
		t.Fatalf("%v %s", err, rp.Raw)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`fieldbridge_viability_answers_total{job="chat-b",status="found"} 1`,
		`fieldbridge_viability_answers_total{job="chat-a",status="found"} 0`,
		`fieldbridge_viability_answer_seconds_count{cached="false",job="chat-b"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s\n%s", want, body)
		}
	}
}
