// Command benchviability is the load benchmark of the Fortics viability
// flow (scripts/bench-viability runs it). Everything listens on 127.0.0.1
// and every phase is bounded in requests and time.
//
// It starts the OZmap fake answering every call after -latency (20 ms),
// then measures, in one run and one process:
//
//	direct  a client calling the fake directly: GET /poles (near) then
//	        GET /ftth-viability/radius — the two calls the bridge makes
//	hop     a bare Go HTTP hop: a 30-line net/http handler making the same
//	        two calls with no checks, log, metrics or cache — what any
//	        HTTP service in between costs on this machine
//	miss    the bridge with the cache off (every question goes upstream),
//	        as `fieldbridge run` serves it: the engine built from a
//	        configuration, behind the bridge's own HTTP server
//	hit     the bridge answering the same question from its cache
//
// With -fake-process the fake runs in a child process, as OZmap is a
// remote system: the CPU per request is then the load generator's and
// the bridge's only.
//
// and prints requests per second and latency percentiles, plus what the
// bridge adds over the direct calls at p50 and p99, and how much of that
// the bare hop adds too.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/bridgetest/cputime"
	"github.com/fieldbridge/fieldbridge/bridge/viability"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
	"github.com/fieldbridge/fieldbridge/connectors/fortics/forticstest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
)

func main() {
	var (
		latency = flag.Duration("latency", 20*time.Millisecond, "OZmap fake's answer time per call")
		nMiss   = flag.Int("n-miss", 6000, "requests in each of the direct, hop and miss phases")
		cMiss   = flag.Int("c-miss", 16, "concurrent clients in the direct, hop and miss phases")
		nHit    = flag.Int("n-hit", 100000, "requests in the hit phase")
		cHit    = flag.Int("c-hit", 16, "concurrent clients in the hit phase")
		maxDur  = flag.Duration("max", 30*time.Second, "time limit of each phase (split over the rounds)")
		rounds  = flag.Int("rounds", 3, "rounds of alternating direct, hop and miss phases")
		prof    = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		sepFake = flag.Bool("fake-process", false, "run the OZmap fake in a child process (OZmap is remote: its CPU is then not the bridge's process's)")
		stagger = flag.Bool("stagger", false, "in the direct, hop and miss phases, start the clients spread over one question's upstream time instead of all at once (independent chats, not 16 in lockstep behind the fake's fixed latency)")
		rate    = flag.Float64("rate", 0, "open loop: in the direct, hop and miss phases, questions arrive at random (Poisson) at this mean rate per second, each timed from its arrival, instead of from -c-miss clients that each wait for their answer")
		serve   = flag.Bool("serve-fake", false, "internal: be that child (serve the seeded fake until stdin closes)")
	)
	flag.Parse()
	if *serve {
		if err := serveFake(*latency); err != nil {
			fmt.Fprintln(os.Stderr, "benchviability:", err)
			os.Exit(1)
		}
		return
	}
	if *prof != "" {
		f, err := os.Create(*prof)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchviability:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*latency, *nMiss, *cMiss, *nHit, *cHit, max(*rounds, 1), *maxDur, *sepFake, *stagger, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "benchviability:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

const token = "bench-token"

func run(latency time.Duration, nMiss, cMiss, nHit, cHit, rounds int, maxDur time.Duration, sepFake, stagger bool, rate float64) error {
	where := "in this process"
	if sepFake {
		where = "in a child process"
	}
	var spread time.Duration
	if stagger {
		spread = 2 * latency // the two upstream calls of one question
	}
	load := fmt.Sprintf("%d clients in a closed loop, start spread %v", cMiss, spread)
	if rate > 0 {
		load = fmt.Sprintf("open loop, Poisson arrivals at %.0f/s", rate)
	}
	fmt.Printf("benchviability: GOMAXPROCS=%d, OZmap fake %s, cache-miss phases: %s; load average before: %s\n", runtime.GOMAXPROCS(0), where, load, loadavg())
	var fake fakeInfo
	calls := func() string { return "n/a (child process)" }
	if sepFake {
		f, stop, err := startFakeProcess(latency)
		if err != nil {
			return err
		}
		defer stop()
		fake = f
	} else {
		srv := ozmaptest.New(ozmaptest.Options{})
		defer srv.Close()
		places := viabilitytest.Seed(srv)
		srv.SetLatency(latency)
		fake = fakeInfo{URL: srv.URL(), Key: srv.Key(), Found: places.Found}
		calls = func() string { return strconv.Itoa(srv.TotalCalls()) }
	}

	// The bridge as `fieldbridge run` serves it: the engine built from a
	// configuration with two fortics-viability jobs (cache off, cache on)
	// on one OZmap connection, behind the bridge's own HTTP server (its
	// middleware, timeouts and request log, at info level to a file).
	bridgeURL, stopBridge, err := startBridge(fake)
	if err != nil {
		return err
	}
	defer stopBridge()
	missURL, hitURL := bridgeURL+"/fortics/miss", bridgeURL+"/fortics/hit"

	hop := httptest.NewServer(bareHop(fake))
	defer hop.Close()

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(cMiss, cHit) * 2, MaxIdleConns: 1024}}
	send := func(req *http.Request) error {
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return err
	}
	get := func(ctx context.Context, u string, hdr bool) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if hdr {
			req.Header.Set("Authorization", fake.Key)
		}
		return send(req)
	}
	// The chatbot: a Fortics HTTP block sending lat/lng in the query.
	ask := func(ctx context.Context, base string, lat, lng float64) error {
		bot := forticstest.Bot{URL: base, Token: token}
		req, err := bot.Request(ctx, forticstest.Question{Shape: forticstest.QueryLatLng, Lat: lat, Lng: lng})
		if err != nil {
			return err
		}
		return send(req)
	}
	// A point within ~30 m of the seeded pole: the full path (pole,
	// feasibility, box) every time, at distinct coordinates.
	jitter := func(r *rand.Rand) (float64, float64) {
		return fake.Found.Lat + (r.Float64()-0.5)*0.0004, fake.Found.Lng + (r.Float64()-0.5)*0.0004
	}

	// The direct, hop and miss phases alternate in rounds so that all see
	// the same load from the rest of the machine.
	directDo := func(ctx context.Context, r *rand.Rand) error {
		lat, lng := jitter(r)
		f, _ := json.Marshal([]ozmap.Filter{{Property: "coords", Operator: "near", Value: map[string]float64{"lat": lat, "lng": lng, "radius": 100}}})
		if err := get(ctx, fake.URL+"/poles?page=1&limit=5&filter="+url.QueryEscape(string(f)), true); err != nil {
			return err
		}
		return get(ctx, fake.URL+"/ftth-viability/radius?lat=-27.5762&lng=-48.5272&radius=100", true)
	}
	hopDo := func(ctx context.Context, r *rand.Rand) error {
		lat, lng := jitter(r)
		return get(ctx, hop.URL+"/?lat="+strconv.FormatFloat(round7(lat), 'f', -1, 64)+"&lng="+strconv.FormatFloat(round7(lng), 'f', -1, 64), false)
	}
	missDo := func(ctx context.Context, r *rand.Rand) error {
		lat, lng := jitter(r)
		return ask(ctx, missURL, round7(lat), round7(lng))
	}
	var directS, hopS, missS sample
	for i := range rounds {
		per := nMiss / rounds
		if i == rounds-1 {
			per = nMiss - per*(rounds-1)
		}
		run := func(do func(context.Context, *rand.Rand) error) sample {
			if rate > 0 {
				return openPhase(per, rate, maxDur/time.Duration(rounds), do)
			}
			return phase(per, cMiss, spread, maxDur/time.Duration(rounds), do)
		}
		directS = directS.add(run(directDo))
		hopS = hopS.add(run(hopDo))
		missS = missS.add(run(missDo))
	}
	direct, bare, miss := summarize("direct", directS), summarize("hop", hopS), summarize("miss", missS)
	if err := ask(context.Background(), hitURL, fake.Found.Lat, fake.Found.Lng); err != nil { // warm the cache
		return err
	}
	hit := summarize("hit", phase(nHit, cHit, 0, maxDur, func(ctx context.Context, r *rand.Rand) error {
		return ask(ctx, hitURL, fake.Found.Lat, fake.Found.Lng)
	}))

	fmt.Printf("\n%-8s %8s %7s %10s %9s %9s %9s %9s %12s\n", "phase", "requests", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU µs/req")
	for _, p := range []result{direct, bare, miss, hit} {
		fmt.Printf("%-8s %8d %7d %10.0f %9.2f %9.2f %9.2f %9.2f %12.0f\n", p.name, p.n, p.errors, p.rps, ms(p.p50), ms(p.p90), ms(p.p99), ms(p.max),
			float64(p.cpuPerReq)/float64(time.Microsecond))
	}
	fmt.Printf("\nbridge adds over the direct calls (cache miss): p50 %+.2f ms, p99 %+.2f ms   (goal: p99 < 2 ms)\n",
		ms(miss.p50-direct.p50), ms(miss.p99-direct.p99))
	fmt.Printf("  of which a bare Go HTTP hop adds:            p50 %+.2f ms, p99 %+.2f ms   (CPU %.0f µs per question)\n",
		ms(bare.p50-direct.p50), ms(bare.p99-direct.p99), float64(bare.cpuPerReq-direct.cpuPerReq)/float64(time.Microsecond))
	fmt.Printf("  and the bridge over that bare hop:           p50 %+.2f ms, p99 %+.2f ms\n",
		ms(miss.p50-bare.p50), ms(miss.p99-bare.p99))
	fmt.Printf("bridge CPU per question on a miss (whole process, miss − direct): %.0f µs\n",
		float64(miss.cpuPerReq-direct.cpuPerReq)/float64(time.Microsecond))
	fmt.Printf("bridge answering from cache: %.0f req/s, p99 %.2f ms   (goal: > 5000 req/s)\n", hit.rps, ms(hit.p99))
	fmt.Printf("OZmap fake calls: %s; load average after: %s\n", calls(), loadavg())
	if n := direct.errors + bare.errors + miss.errors + hit.errors; n > 0 {
		return fmt.Errorf("%d requests failed", n)
	}
	return nil
}

// startBridge runs the engine and HTTP server of the bridge on 127.0.0.1
// for the fake, and returns its base URL and a stop function.
func startBridge(fake fakeInfo) (string, func(), error) {
	dir, err := os.MkdirTemp("", "benchviability")
	if err != nil {
		return "", nil, err
	}
	reg := &bridge.Registry{Kinds: map[string]bridge.Kind{}, Conns: map[string]bridge.ConnType{}}
	reg.AddKind(viability.Kind())
	reg.AddConn(boxsync.OZmapConnType())
	text := fmt.Sprintf(`data_dir = %q

[connections.ozmap]
type = "ozmap"
base_url = %q
key = %q

[[job]]
name = "miss"
kind = "fortics-viability"
ozmap = "ozmap"
path = "/fortics/miss"
token = %q
rate_limit = 0
cache = false
cache_precision = 7   # (off anyway) distinct questions never share a flight

[[job]]
name = "hit"
kind = "fortics-viability"
ozmap = "ozmap"
path = "/fortics/hit"
token = %q
rate_limit = 0
`, filepath.Join(dir, "data"), fake.URL, fake.Key, token, token)
	cfgPath := filepath.Join(dir, "bench.toml")
	cfg, err := bridge.ParseConfig(cfgPath, []byte(text), reg)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "fieldbridge.log"))
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e, err := bridge.NewEngine(ctx, bridge.EngineOptions{Config: cfg, Registry: reg, Log: slog.New(slog.NewTextHandler(logf, nil))})
	if err == nil {
		var srv *bridge.Server
		if srv, err = bridge.NewServer(e); err == nil {
			var ln net.Listener
			if ln, err = net.Listen("tcp", "127.0.0.1:0"); err == nil {
				hs := srv.HTTPServer(ctx)
				go func() { _ = hs.Serve(ln) }()
				return "http://" + ln.Addr().String(), func() {
					hs.Close()
					e.Close()
					cancel()
					logf.Close()
					os.RemoveAll(dir)
				}, nil
			}
		}
		e.Close()
	}
	cancel()
	logf.Close()
	os.RemoveAll(dir)
	return "", nil, err
}

// bareHop is the least any HTTP service between the chatbot and OZmap
// does: read lat/lng, make the bridge's two calls (nearest usable pole,
// then feasibility at that pole) with net/http and encoding/json, and
// answer a fixed JSON body. No token, location parsing, cache, flight,
// log, metrics or per-call deadlines.
func bareHop(fake fakeInfo) http.Handler {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	call := func(r *http.Request, u string, out any) error {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", fake.Key)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lat, _ := strconv.ParseFloat(r.URL.Query().Get("lat"), 64)
		lng, _ := strconv.ParseFloat(r.URL.Query().Get("lng"), 64)
		f, _ := json.Marshal([]ozmap.Filter{{Property: "coords", Operator: "near", Value: map[string]float64{"lat": lat, "lng": lng, "radius": 100}}})
		var poles struct {
			Rows []struct {
				Coords []float64 `json:"coords"`
				Usable bool      `json:"usable"`
			} `json:"rows"`
		}
		if err := call(r, fake.URL+"/poles?page=1&limit=5&filter="+url.QueryEscape(string(f)), &poles); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for _, p := range poles.Rows {
			if !p.Usable || len(p.Coords) != 2 {
				continue
			}
			var feas struct {
				Viable bool `json:"viable"`
				Boxes  []struct {
					Name string `json:"name"`
				} `json:"boxes"`
			}
			u := fmt.Sprintf("%s/ftth-viability/radius?lat=%v&lng=%v&radius=100", fake.URL, p.Coords[1], p.Coords[0])
			if err := call(r, u, &feas); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			break
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"found","viable":true,"message":"Encontramos viabilidade no seu endereço.","box":"CTO 22-05","box_distance_m":30.4,"free_ports":6,"pole":"P_2520","lat":-27.576,"lng":-48.527,"checked_at":"2026-11-22T14:03:00Z"}`+"\n")
	})
}

// fakeInfo is where the seeded OZmap fake listens.
type fakeInfo struct {
	URL, Key string
	Found    viabilitytest.Point
}

// serveFake is the child of -fake-process: it serves the seeded fake,
// writes its fakeInfo as one JSON line on stdout, and ends when stdin
// closes (the parent ended).
func serveFake(latency time.Duration) error {
	srv := ozmaptest.New(ozmaptest.Options{})
	defer srv.Close()
	places := viabilitytest.Seed(srv)
	srv.SetLatency(latency)
	if err := json.NewEncoder(os.Stdout).Encode(fakeInfo{URL: srv.URL(), Key: srv.Key(), Found: places.Found}); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// startFakeProcess runs this program with -serve-fake and reads where the
// fake listens.
func startFakeProcess(latency time.Duration) (fakeInfo, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return fakeInfo{}, nil, err
	}
	cmd := exec.Command(self, "-serve-fake", "-latency", latency.String())
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return fakeInfo{}, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fakeInfo{}, nil, err
	}
	if err := cmd.Start(); err != nil {
		return fakeInfo{}, nil, err
	}
	stop := func() { in.Close(); _ = cmd.Wait() }
	var f fakeInfo
	if err := json.NewDecoder(out).Decode(&f); err != nil {
		stop()
		return fakeInfo{}, nil, fmt.Errorf("starting the fake process: %w", err)
	}
	return f, stop, nil
}

type result struct {
	name               string
	n, errors          int
	rps                float64
	p50, p90, p99, max time.Duration
	cpuPerReq          time.Duration
}

// sample is the latencies of one phase's successful requests.
type sample struct {
	lat     []time.Duration
	errors  int
	elapsed time.Duration
	cpu     time.Duration // CPU time of the whole process (user+system)
}

func (a sample) add(b sample) sample {
	return sample{lat: append(a.lat, b.lat...), errors: a.errors + b.errors, elapsed: a.elapsed + b.elapsed, cpu: a.cpu + b.cpu}
}

// phase runs do n times over c workers, stopping early at maxDur. Worker
// w starts after w*spread/c (time counted in the phase's elapsed time).
func phase(n, c int, spread, maxDur time.Duration, do func(context.Context, *rand.Rand) error) sample {
	ctx, cancel := context.WithTimeout(context.Background(), maxDur)
	defer cancel()
	var next, errs atomic.Int64
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cputime.Used()
	for w := range c {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			l := make([]time.Duration, 0, n/c+1)
			if spread > 0 {
				time.Sleep(spread * time.Duration(w) / time.Duration(c))
			}
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t0 := time.Now()
				if err := do(ctx, r); err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				l = append(l, time.Since(t0))
			}
			lat[w] = l
		})
	}
	wg.Wait()
	s := sample{errors: int(errs.Load()), elapsed: time.Since(start), cpu: cputime.Used() - cpu0}
	for _, l := range lat {
		s.lat = append(s.lat, l...)
	}
	return s
}

// maxInFlight bounds an open-loop phase: an arrival finding this many
// questions unanswered is counted as an error, not sent.
const maxInFlight = 512

// openPhase sends n questions arriving at random (exponential gaps of
// mean 1/rate), each on its own goroutine whatever the others are doing,
// and times each from its planned arrival, so that a slow answer cannot
// hold back (and hide) the questions behind it. It stops early at maxDur.
func openPhase(n int, rate float64, maxDur time.Duration, do func(context.Context, *rand.Rand) error) sample {
	ctx, cancel := context.WithTimeout(context.Background(), maxDur)
	defer cancel()
	var (
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, n)
		errs atomic.Int64
		wg   sync.WaitGroup
		slot = make(chan struct{}, maxInFlight)
	)
	gaps := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	start, cpu0 := time.Now(), cputime.Used()
	at := start
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at = at.Add(time.Duration(gaps.ExpFloat64() / rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		select {
		case slot <- struct{}{}:
		default:
			errs.Add(1)
			continue
		}
		arrival := at
		wg.Go(func() {
			defer func() { <-slot }()
			r := rand.New(rand.NewPCG(uint64(i), uint64(arrival.UnixNano())))
			if err := do(ctx, r); err != nil {
				if ctx.Err() == nil {
					errs.Add(1)
				}
				return
			}
			d := time.Since(arrival)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	return sample{lat: lat, errors: int(errs.Load()), elapsed: time.Since(start), cpu: cputime.Used() - cpu0}
}

func summarize(name string, s sample) result {
	all := s.lat
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	res := result{name: name, n: len(all), errors: s.errors, rps: float64(len(all)) / s.elapsed.Seconds()}
	if len(all) > 0 {
		res.cpuPerReq = s.cpu / time.Duration(len(all))
	}
	if len(all) > 0 {
		pct := func(p int) time.Duration { return all[max((len(all)*p+99)/100-1, 0)] }
		res.p50, res.p90, res.p99, res.max = pct(50), pct(90), pct(99), all[len(all)-1]
	}
	return res
}

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
