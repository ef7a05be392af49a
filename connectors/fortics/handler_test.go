package fortics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/fortics"
	"github.com/fieldbridge/fieldbridge/connectors/fortics/forticstest"
)

// stubNet is a tiny in-memory Network: poles and feasibility by pole id.
type stubNet struct {
	poles   []fortics.Pole
	feas    map[string]fortics.Feasibility // by pole id
	delay   time.Duration
	fail    error
	gate    chan struct{} // when set, calls wait for it
	poleN   atomic.Int64
	feasN   atomic.Int64
	lastLat atomic.Value
}

func (s *stubNet) wait(ctx context.Context) error {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.fail
}

func (s *stubNet) Poles(ctx context.Context, lat, lng, r float64, limit int) ([]fortics.Pole, error) {
	s.poleN.Add(1)
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	if lat > 0 { // the northern hemisphere has no network in this stub
		return nil, nil
	}
	return s.poles[:min(limit, len(s.poles))], nil
}

func (s *stubNet) Feasibility(ctx context.Context, lat, lng, r float64) (fortics.Feasibility, error) {
	s.feasN.Add(1)
	if err := s.wait(ctx); err != nil {
		return fortics.Feasibility{}, err
	}
	for _, p := range s.poles {
		if p.Lat == lat && p.Lng == lng {
			return s.feas[p.ID], nil
		}
	}
	return fortics.Feasibility{}, nil
}

const token = "s3cret-token"

var answerKeys = []string{"box", "box_distance_m", "checked_at", "free_ports", "lat", "lng", "message", "pole", "status", "viable"}

func newStub() *stubNet {
	return &stubNet{
		poles: []fortics.Pole{
			{ID: "p0", Name: "P_0001", Lat: -27.5760, Lng: -48.5270, Usable: false},
			{ID: "p1", Name: "P_2520", Lat: -27.5761, Lng: -48.5271, Usable: true},
		},
		feas: map[string]fortics.Feasibility{
			"p1": {Viable: true, Boxes: []fortics.Box{
				{ID: "b0", Name: "CTO 22-04", DistanceM: 10, Lat: -27.5762, Lng: -48.5271, Implanted: true, FreePorts: 0},
				{ID: "b1", Name: "CTO 22-05", DistanceM: 30.41, Lat: -27.5763, Lng: -48.5273, Implanted: true, FreePorts: 6},
			}},
		},
	}
}

func newServer(t *testing.T, o fortics.Options) (*fortics.Handler, *forticstest.Bot) {
	t.Helper()
	if o.Token == "" {
		o.Token = token
	}
	if o.RateLimit == 0 {
		o.RateLimit = -1
	}
	h, err := fortics.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, &forticstest.Bot{URL: srv.URL + "/fortics/viability", Token: token}
}

func ask(t *testing.T, bot *forticstest.Bot, q forticstest.Question) forticstest.Reply {
	t.Helper()
	rp, err := bot.Ask(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rp.Keys, answerKeys) {
		t.Fatalf("answer keys %v, want %v", rp.Keys, answerKeys)
	}
	if rp.Answer.Message == "" || rp.Answer.CheckedAt == "" {
		t.Fatalf("answer without message or time: %s", rp.Raw)
	}
	return rp
}

func TestOutcomesWithStub(t *testing.T) {
	net := newStub()
	_, bot := newServer(t, fortics.Options{Network: net})
	rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5760, Lng: -48.5270})
	a := rp.Answer
	if rp.Code != 200 || a.Status != fortics.StatusFound || !a.Viable || a.Box != "CTO 22-05" || a.FreePorts != 6 || a.Pole != "P_2520" {
		t.Fatalf("found: %d %s", rp.Code, rp.Raw)
	}
	if a.BoxDistanceM < 30 || a.BoxDistanceM > 45 {
		t.Fatalf("box distance %v from the asked point, want ≈ 37 m", a.BoxDistanceM)
	}
	if a.Message != "Encontramos viabilidade no seu endereço." {
		t.Fatalf("message %q", a.Message)
	}
	rp = ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: 10, Lng: 10})
	if rp.Code != 200 || rp.Answer.Status != fortics.StatusNotFound || rp.Answer.Viable || rp.Answer.Box != "" {
		t.Fatalf("not_found: %d %s", rp.Code, rp.Raw)
	}
	net.feas["p1"] = fortics.Feasibility{Viable: false}
	rp = ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5, Lng: -48.5})
	if rp.Code != 200 || rp.Answer.Status != fortics.StatusNoViability || rp.Answer.Pole != "P_2520" || rp.Answer.Box != "" {
		t.Fatalf("no_viability: %d %s", rp.Code, rp.Raw)
	}
}

func TestEveryShape(t *testing.T) {
	net := newStub()
	geo := forticstest.NewGeocoder()
	defer geo.Close()
	geo.Add("Rua das Flores, 100", -27.5760, -48.5270)
	g, err := fortics.NewNominatim(fortics.NominatimOptions{URL: geo.URL()})
	if err != nil {
		t.Fatal(err)
	}
	_, bot := newServer(t, fortics.Options{Network: net, Geocoder: g, CacheDisabled: true})
	for _, tokenIn := range []string{forticstest.TokenInQuery, forticstest.TokenInHeader, forticstest.TokenInBearer, forticstest.TokenInBody} {
		bot.TokenIn = tokenIn
		for _, s := range append(forticstest.CoordShapes, forticstest.AddressShapes...) {
			t.Run(tokenIn+"/"+string(s), func(t *testing.T) {
				rp := ask(t, bot, forticstest.Question{Shape: s, Lat: -27.5760, Lng: -48.5270, Address: "Rua das Flores, 100 - Florianópolis"})
				if rp.Code != 200 || rp.Answer.Status != fortics.StatusFound || rp.Answer.Lat != -27.576 || rp.Answer.Lng != -48.527 {
					t.Fatalf("%d %s", rp.Code, rp.Raw)
				}
			})
		}
	}
}

func TestUnusableNearestPoleSkipped(t *testing.T) {
	net := newStub()
	net.poles[1].Usable = false // every pole unusable
	_, bot := newServer(t, fortics.Options{Network: net})
	rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5760, Lng: -48.5270})
	if rp.Answer.Status != fortics.StatusNotFound {
		t.Fatalf("all poles unusable: %s", rp.Raw)
	}
	if n := net.feasN.Load(); n != 0 {
		t.Fatalf("feasibility asked %d times for an unusable pole", n)
	}
}

func TestRefusals(t *testing.T) {
	net := newStub()
	h, bot := newServer(t, fortics.Options{Network: net, Path: "/fortics/viability", MaxBodyBytes: 1024})
	_ = h
	base := strings.TrimSuffix(bot.URL, "/fortics/viability")
	tests := []struct {
		name, method, path, ctype, body string
		header                          map[string]string
		code                            int
		status, message                 string
	}{
		{"no location", "GET", "/fortics/viability?token=" + token, "", "", nil, 400, "invalid_request", "Envie a localização"},
		{"bad coords", "GET", "/fortics/viability?token=" + token + "&coords=abc", "", "", nil, 400, "invalid_request", "Não entendi as coordenadas"},
		{"out of range", "GET", "/fortics/viability?token=" + token + "&lat=95&lng=10", "", "", nil, 400, "invalid_request", "fora do intervalo"},
		{"address without geocoder", "GET", "/fortics/viability?token=" + token + "&address=Rua+X,+1", "", "", nil, 400, "invalid_request", "Não é possível consultar por endereço"},
		{"short link", "GET", "/fortics/viability?token=" + token + "&link=https://maps.app.goo.gl/xyz", "", "", nil, 400, "invalid_request", "links encurtados"},
		{"broken json", "POST", "/fortics/viability?token=" + token, "application/json", `{"lat": `, nil, 400, "invalid_request", "Pedido inválido"},
		{"body too large", "POST", "/fortics/viability?token=" + token, "application/json", `{"address":"` + strings.Repeat("x", 2000) + `"}`, nil, 413, "invalid_request", "Pedido inválido"},
		{"no token", "GET", "/fortics/viability?lat=-27.5&lng=-48.5", "", "", nil, 401, "unauthorized", "token"},
		{"wrong token", "GET", "/fortics/viability?token=nope&lat=-27.5&lng=-48.5", "", "", nil, 401, "unauthorized", "token"},
		{"wrong bearer", "GET", "/fortics/viability?lat=-27.5&lng=-48.5", "", "", map[string]string{"Authorization": "Bearer " + token + "x"}, 401, "unauthorized", "token"},
		{"token prefix", "GET", "/fortics/viability?token=" + token[:5] + "&lat=-27.5&lng=-48.5", "", "", nil, 401, "unauthorized", "token"},
		{"bad body and no token", "POST", "/fortics/viability", "application/json", `{`, nil, 401, "unauthorized", "token"},
		{"method", "DELETE", "/fortics/viability?token=" + token, "", "", nil, 405, "invalid_request", "GET ou POST"},
		{"path", "GET", "/fortics/viability/x?token=" + token, "", "", nil, 404, "invalid_request", "desconhecido"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rp, err := bot.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if rp.Code != tt.code || rp.Answer.Status != tt.status || !strings.Contains(rp.Answer.Message, tt.message) {
				t.Fatalf("got %d %s; want %d %s %q", rp.Code, rp.Raw, tt.code, tt.status, tt.message)
			}
			if !reflect.DeepEqual(rp.Keys, answerKeys) {
				t.Fatalf("keys %v", rp.Keys)
			}
		})
	}
	if n := net.poleN.Load(); n != 0 {
		t.Fatalf("refused questions reached the network %d times", n)
	}
}

func TestPanicAnswersJSON(t *testing.T) {
	_, bot := newServer(t, fortics.Options{Network: panicNet{}})
	rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5, Lng: -48.5})
	if rp.Code != 500 || rp.Answer.Status != fortics.StatusUnavailable {
		t.Fatalf("%d %s", rp.Code, rp.Raw)
	}
}

type panicNet struct{ fortics.Network }

func (panicNet) Poles(context.Context, float64, float64, float64, int) ([]fortics.Pole, error) {
	panic("boom")
}

func TestNetworkDownOrSlow(t *testing.T) {
	t.Run("refusing", func(t *testing.T) {
		net := newStub()
		net.fail = errors.New("HTTP 500")
		_, bot := newServer(t, fortics.Options{Network: net})
		rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5, Lng: -48.5})
		if rp.Code != 503 || rp.Answer.Status != fortics.StatusUnavailable || !strings.Contains(rp.Answer.Message, "Tente novamente") {
			t.Fatalf("%d %s", rp.Code, rp.Raw)
		}
	})
	t.Run("slow", func(t *testing.T) {
		net := newStub()
		net.delay = 5 * time.Second
		_, bot := newServer(t, fortics.Options{Network: net, Deadline: 300 * time.Millisecond, CallTimeout: 5 * time.Second})
		start := time.Now()
		rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5, Lng: -48.5})
		if took := time.Since(start); took > 300*time.Millisecond+600*time.Millisecond { // slack for a loaded machine
			t.Fatalf("answered after %v, deadline 300ms", took)
		}
		if rp.Code != 503 || rp.Answer.Status != fortics.StatusUnavailable {
			t.Fatalf("%d %s", rp.Code, rp.Raw)
		}
	})
}

func TestCacheAndTTL(t *testing.T) {
	net := newStub()
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, bot := newServer(t, fortics.Options{Network: net, Now: clock, CacheTTL: time.Minute})
	q := forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.57601, Lng: -48.52701}
	first := ask(t, bot, q)
	q.Lat, q.Lng = -27.57599, -48.52699 // same 4-decimal cell
	second := ask(t, bot, q)
	if net.poleN.Load() != 1 || net.feasN.Load() != 1 {
		t.Fatalf("upstream calls %d/%d after a repeated question, want 1/1", net.poleN.Load(), net.feasN.Load())
	}
	if second.Answer.Box != first.Answer.Box || second.Answer.CheckedAt != first.Answer.CheckedAt || second.Answer.Lat != -27.57599 {
		t.Fatalf("cached answer %s vs %s", second.Raw, first.Raw)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	ask(t, bot, q)
	if net.poleN.Load() != 2 {
		t.Fatalf("expired answer reused (%d calls)", net.poleN.Load())
	}

	off := newStub()
	_, bot2 := newServer(t, fortics.Options{Network: off, CacheDisabled: true})
	ask(t, bot2, q)
	ask(t, bot2, q)
	if off.poleN.Load() != 2 {
		t.Fatalf("cache off: %d calls, want 2", off.poleN.Load())
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	net := newStub()
	net.fail = errors.New("down")
	_, bot := newServer(t, fortics.Options{Network: net})
	q := forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5, Lng: -48.5}
	ask(t, bot, q)
	net.fail = nil
	if rp := ask(t, bot, q); rp.Code != 200 {
		t.Fatalf("failure was cached: %s", rp.Raw)
	}
}

func TestSingleflight(t *testing.T) {
	net := newStub()
	net.gate = make(chan struct{})
	_, bot := newServer(t, fortics.Options{Network: net, CacheDisabled: true})
	const n = 20
	var wg sync.WaitGroup
	replies := make([]forticstest.Reply, n)
	for i := range n {
		wg.Go(func() {
			rp, err := bot.Ask(context.Background(), forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5760, Lng: -48.5270})
			if err != nil {
				t.Error(err)
			}
			replies[i] = rp
		})
	}
	// Let every question arrive and join the flight, then open the gate.
	deadline := time.Now().Add(2 * time.Second)
	for net.poleN.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(net.gate)
	wg.Wait()
	for _, rp := range replies {
		if rp.Answer.Status != fortics.StatusFound {
			t.Fatalf("reply %s", rp.Raw)
		}
	}
	if p, f := net.poleN.Load(), net.feasN.Load(); p != 1 || f != 1 {
		t.Fatalf("%d concurrent identical questions made %d pole and %d feasibility calls, want 1 each", n, p, f)
	}
}

func TestRateLimit(t *testing.T) {
	_, bot := newServer(t, fortics.Options{Network: newStub(), RateLimit: 1, RateBurst: 3})
	codes := map[int]int{}
	for range 6 {
		rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5760, Lng: -48.5270})
		codes[rp.Code]++
		if rp.Code == 429 && rp.Answer.Status != fortics.StatusRateLimited {
			t.Fatalf("%s", rp.Raw)
		}
	}
	if codes[200] != 3 || codes[429] != 3 {
		t.Fatalf("codes %v, want 3×200 then 3×429", codes)
	}
}

func TestLanguagesAndOverrides(t *testing.T) {
	_, bot := newServer(t, fortics.Options{Network: newStub(), Language: "es"})
	if rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: 10, Lng: 10}); rp.Answer.Message != "No encontramos red de fibra cerca de esta dirección." {
		t.Fatalf("es: %q", rp.Answer.Message)
	}
	_, bot = newServer(t, fortics.Options{Network: newStub(), Language: "en", Messages: map[string]string{
		"found": "Box {box}: {free_ports} free ports, {distance} m away.", "invalid_request": "Send the pin, please."}})
	if rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.5760, Lng: -48.5270}); !strings.HasPrefix(rp.Answer.Message, "Box CTO 22-05: 6 free ports, ") {
		t.Fatalf("override: %q", rp.Answer.Message)
	}
	if rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryCoords}); rp.Answer.Message != "Send the pin, please." {
		t.Fatalf("invalid override: %q", rp.Answer.Message)
	}
	if _, err := fortics.New(fortics.Options{Network: newStub(), Token: "x", Language: "fr", Messages: map[string]string{"fund": "x"}}); err == nil ||
		!strings.Contains(err.Error(), "language") || !strings.Contains(err.Error(), `"fund"`) {
		t.Fatalf("bad options accepted: %v", err)
	}
	if _, err := fortics.New(fortics.Options{Network: newStub()}); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("missing token accepted: %v", err)
	}
}

func TestOnAnswerRecords(t *testing.T) {
	var mu sync.Mutex
	var recs []fortics.Record
	_, bot := newServer(t, fortics.Options{Network: newStub(), OnAnswer: func(r fortics.Record) { mu.Lock(); recs = append(recs, r); mu.Unlock() }})
	ask(t, bot, forticstest.Question{Shape: forticstest.QueryCoords, Lat: -27.5760, Lng: -48.5270})
	ask(t, bot, forticstest.Question{Shape: forticstest.QueryCoords, Lat: -27.5760, Lng: -48.5270})
	bot.Token = "wrong"
	ask(t, bot, forticstest.Question{Shape: forticstest.QueryCoords, Lat: -27.5760, Lng: -48.5270})
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	r := recs[0]
	if r.Status != "found" || r.HTTP != 200 || r.Input != fortics.InputCoords || r.Box != "CTO 22-05" || r.Client != "127.0.0.1" || r.Cached || r.Latency <= 0 {
		t.Fatalf("record %+v", r)
	}
	if !recs[1].Cached || recs[2].Status != "unauthorized" || recs[2].Lat != 0 {
		t.Fatalf("records %+v %+v", recs[1], recs[2])
	}
	mu.Unlock()
	bot.Token = token
	rp, _ := bot.Do(mustGet(t, bot.URL+"?token="+token+"&coords=amanh%C3%A3"))
	mu.Lock()
	if r := recs[3]; rp.Code != 400 || r.Status != "invalid_request" || r.Query != "amanhã" || r.Reason != fortics.ReasonBadCoordinates {
		t.Fatalf("refused question recorded as %+v", r)
	}
}

func TestNominatimAgainstFake(t *testing.T) {
	geo := forticstest.NewGeocoder()
	defer geo.Close()
	geo.Add("Av. Paulista, 1000", -23.5614, -46.6559)
	g, err := fortics.NewNominatim(fortics.NominatimOptions{URL: geo.URL() + "/", CountryCodes: "br"})
	if err != nil {
		t.Fatal(err)
	}
	lat, lng, err := g.Geocode(context.Background(), "av.  paulista, 1000, São Paulo")
	if err != nil || lat != -23.5614 || lng != -46.6559 {
		t.Fatalf("geocode = %v %v %v", lat, lng, err)
	}
	if _, _, err := g.Geocode(context.Background(), "Rua Inexistente, 1"); !errors.Is(err, fortics.ErrAddressNotFound) {
		t.Fatalf("unknown address: %v", err)
	}
	geo.SetFail(502)
	if _, _, err := g.Geocode(context.Background(), "Av. Paulista, 1000"); err == nil || errors.Is(err, fortics.ErrAddressNotFound) {
		t.Fatalf("failing geocoder: %v", err)
	}
	if _, err := fortics.NewNominatim(fortics.NominatimOptions{URL: "ftp://x"}); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

func TestAddressFlow(t *testing.T) {
	geo := forticstest.NewGeocoder()
	defer geo.Close()
	geo.Add("Rua das Flores, 100", -27.5760, -48.5270)
	g, _ := fortics.NewNominatim(fortics.NominatimOptions{URL: geo.URL()})
	_, bot := newServer(t, fortics.Options{Network: newStub(), Geocoder: g, Deadline: 500 * time.Millisecond, CallTimeout: 200 * time.Millisecond})
	for range 3 {
		if rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryAddress, Address: "Rua das Flores, 100"}); rp.Answer.Status != "found" {
			t.Fatalf("%s", rp.Raw)
		}
	}
	if n := geo.Calls(); n != 1 {
		t.Fatalf("geocoder asked %d times for one address, want 1 (cached)", n)
	}
	if rp := ask(t, bot, forticstest.Question{Shape: forticstest.JSONAddress, Address: "Rua Que Não Existe, 5"}); rp.Code != 400 || !strings.Contains(rp.Answer.Message, "Não encontramos este endereço") {
		t.Fatalf("%d %s", rp.Code, rp.Raw)
	}
	geo.SetDelay(2 * time.Second)
	start := time.Now()
	if rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryAddress, Address: "Rua Lenta, 9"}); rp.Code != 503 || time.Since(start) > 1200*time.Millisecond {
		t.Fatalf("slow geocoder: %d after %v %s", rp.Code, time.Since(start), rp.Raw)
	}
}

// TestDeadlineCoversGeocoding checks that one deadline bounds the whole
// question: time spent geocoding is not given again to the network.
func TestDeadlineCoversGeocoding(t *testing.T) {
	geo := forticstest.NewGeocoder()
	defer geo.Close()
	geo.Add("Rua das Flores, 100", -27.5760, -48.5270)
	geo.SetDelay(time.Second)
	g, _ := fortics.NewNominatim(fortics.NominatimOptions{URL: geo.URL()})
	net := newStub()
	net.delay = 5 * time.Second
	_, bot := newServer(t, fortics.Options{Network: net, Geocoder: g, Deadline: 1200 * time.Millisecond, CallTimeout: 5 * time.Second})
	start := time.Now()
	rp := ask(t, bot, forticstest.Question{Shape: forticstest.QueryAddress, Address: "Rua das Flores, 100"})
	// 1 s geocoding + a fresh 1.2 s for the network would be 2.2 s.
	if took := time.Since(start); rp.Code != 503 || took > 1900*time.Millisecond {
		t.Fatalf("%d after %v (deadline 1.2s): %s", rp.Code, took, rp.Raw)
	}
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestAsk: a location chosen elsewhere (FindME) is answered through the
// same path and recorded with its input kind; a bad one is refused.
func TestAsk(t *testing.T) {
	var mu sync.Mutex
	var recs []fortics.Record
	h, _ := newServer(t, fortics.Options{Network: newStub(), OnAnswer: func(r fortics.Record) { mu.Lock(); recs = append(recs, r); mu.Unlock() }})
	a := h.Ask(context.Background(), fortics.InputFindMe, "10.0.0.9", -27.5760, -48.5270, "")
	if a.Status != "found" || a.Box != "CTO 22-05" || a.Message == "" || a.CheckedAt == "" {
		t.Fatalf("answer %+v", a)
	}
	if b := h.Ask(context.Background(), fortics.InputFindMe, "10.0.0.9", -27.5760, -48.5270, ""); b.Box != a.Box {
		t.Fatalf("second answer %+v", b)
	}
	if bad := h.Ask(context.Background(), fortics.InputFindMe, "10.0.0.9", 95, 200, ""); bad.Status != fortics.StatusInvalidRequest || bad.Message == "" {
		t.Fatalf("bad location answered %+v", bad)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != 3 || recs[0].Input != fortics.InputFindMe || recs[0].Client != "10.0.0.9" || !recs[1].Cached || recs[2].HTTP != 400 {
		t.Fatalf("records %+v", recs)
	}
}
