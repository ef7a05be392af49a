package viability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
	"github.com/fieldbridge/fieldbridge/bridge/findme"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
	"github.com/fieldbridge/fieldbridge/connectors/sms"
	"github.com/fieldbridge/fieldbridge/connectors/sms/smstest"
)

// findWorld is a viability job with FindME on a real HTTP server, its
// SMS going to the Zenvia fake, its logs captured.
type findWorld struct {
	places viabilitytest.Places
	srv    *httptest.Server
	sms    *smstest.Server
	job    *Job
	l      ledger.Ledger
	logs   *bridgetest.Buffer
	cfg    *bridge.Config
	dir    string
}

const testPhone = "+55 48 99876-5432"

func newFindWorld(t *testing.T, edit func(*findme.Options)) *findWorld {
	t.Helper()
	w := &findWorld{logs: &bridgetest.Buffer{}, dir: t.TempDir()}
	fake := ozmaptest.New(ozmaptest.Options{})
	t.Cleanup(fake.Close)
	w.places = viabilitytest.Seed(fake)
	w.sms = smstest.NewServer()
	t.Cleanup(w.sms.Close)
	client, err := sms.New(w.sms.ClientOptions("zenvia"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.OpenSQLite(context.Background(), filepath.Join(w.dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	w.l = l

	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	o := DefaultOptions()
	o.OZmap = "ozmap"
	o.Token = testToken
	o.RateLimit = 0
	fo := findme.DefaultOptions()
	fo.PublicURL = w.srv.URL
	fo.SMS = "sms"
	fo.LinkTTL = bridge.Duration{Duration: 30 * time.Minute}
	fo.TileURL = w.srv.URL + "/tiles/{z}/{x}/{y}.png" // nothing there: the page works without tiles
	if edit != nil {
		edit(&fo)
	}
	o.FindME = &fo
	cfg := bridge.DefaultConfig()
	cfg.DataDir = w.dir
	w.cfg = cfg
	log := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := &bridge.Env{Config: cfg, Ledger: l, Log: log}
	oo := ozmap.Options{BaseURL: fake.URL(), Key: fake.Key()}
	oc, err := ozmap.New(oo)
	if err != nil {
		t.Fatal(err)
	}
	w.job, err = newJob(env, bridge.JobSpec{Name: "viability", Kind: KindName}, o, OZmapNetwork(oc), client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.job.Close() })
	for _, r := range w.job.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	return w
}

// askLink is the bot's POST; it returns the status code and the answer.
func (w *findWorld) askLink(t *testing.T, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/fortics/findme?token="+testToken, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return w.do(t, req)
}

// pollRequest is the bot's GET of a link's answer.
func (w *findWorld) pollRequest(t *testing.T, id string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.srv.URL+"/fortics/findme/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req
}

func (w *findWorld) poll(t *testing.T, id string) map[string]any {
	t.Helper()
	code, m := w.do(t, w.pollRequest(t, id))
	if code != http.StatusOK {
		t.Fatalf("poll %s = %d %v", id, code, m)
	}
	return m
}

func (w *findWorld) do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: not JSON: %s", req.Method, req.URL.Path, b)
	}
	return resp.StatusCode, m
}

// linkOf returns the link in the last SMS sent.
func (w *findWorld) linkOf(t *testing.T) string {
	t.Helper()
	msgs := w.sms.Messages()
	if len(msgs) == 0 {
		t.Fatal("no SMS sent")
	}
	m := regexp.MustCompile(`https?://\S+/l/[A-Za-z0-9_-]+`).FindString(msgs[len(msgs)-1].Text)
	if m == "" {
		t.Fatalf("no link in the SMS %q", msgs[len(msgs)-1].Text)
	}
	return m
}

// TestFindMeByForm: the whole flow without a browser (the page's form
// works without JavaScript): link by SMS, the bot waits, the customer
// posts a location, the bot gets found; the link is then refused.
func TestFindMeByForm(t *testing.T) {
	w := newFindWorld(t, nil)
	code, m := w.askLink(t, `{"phone": "`+testPhone+`", "chat": "chat-77"}`)
	if code != http.StatusOK || m["status"] != "sent" || m["id"] == "" {
		t.Fatalf("link: %d %v", code, m)
	}
	if msg := m["message"].(string); !strings.Contains(msg, "(48) 9****-5432") {
		t.Errorf("message %q does not name the masked number", msg)
	}
	sent := w.sms.Messages()
	if len(sent) != 1 || sent[0].To != "5548998765432" {
		t.Fatalf("SMS %+v", sent)
	}
	if n := len(sent[0].Text); n > 160 {
		t.Errorf("the SMS has %d characters: %q", n, sent[0].Text)
	}
	id := m["id"].(string)
	if got := w.poll(t, id); got["status"] != "waiting" {
		t.Fatalf("before: %v", got)
	}
	// the full number is not stored, not even while the link waits
	if it, _ := w.l.GetItem(context.Background(), "viability", "findme:"+id); it.Message == "" || strings.Contains(it.Message, "998765432") {
		t.Errorf("ledger item of the waiting link: %q", it.Message)
	}
	link := w.linkOf(t)
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<form`) {
		t.Fatalf("page: %d %s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	f := w.places.Found
	resp, err = http.PostForm(link, url.Values{"lat": {fmt.Sprint(f.Lat)}, "lng": {fmt.Sprint(f.Lng)}, "source": {"map"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	got := w.poll(t, id)
	if got["status"] != "found" || got["box"] != viabilitytest.FoundBox || got["viable"] != true {
		t.Fatalf("answer %v", got)
	}
	for _, k := range strings.Fields(keys) {
		if _, ok := got[k]; !ok {
			t.Errorf("answer lacks %q: %v", k, got)
		}
	}
	// used: refused with one sentence
	resp, _ = http.Get(link)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(b), "already been used") && !strings.Contains(string(b), "já foi usado") {
		t.Errorf("used link: %d %s", resp.StatusCode, b)
	}
	// the question log says findme
	w.job.Close()
	recs, err := ReadDay(LogDir(w.cfg, "viability"), time.Now().In(w.job.qlog.loc).Format(time.DateOnly))
	if err != nil || len(recs) != 1 || recs[0].Input != "findme" || recs[0].Status != "found" {
		t.Fatalf("question log %+v %v", recs, err)
	}
	// nor once used
	it, _ := w.l.GetItem(context.Background(), "viability", "findme:"+id)
	if strings.Contains(it.Message, "998765432") {
		t.Errorf("the phone number stayed in the ledger: %s", it.Message)
	}
	w.noFullNumber(t)
}

// noFullNumber: the full phone number appears in no log line, no
// question log, no status page line.
func (w *findWorld) noFullNumber(t *testing.T) {
	t.Helper()
	var all strings.Builder
	all.WriteString(w.logs.String())
	filepath.Walk(w.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && strings.HasSuffix(p, ".jsonl") {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return nil
	})
	all.WriteString(w.job.StatusSummary())
	for _, form := range []string{"998765432", "99876-5432", "9987-65432"} {
		if strings.Contains(all.String(), form) {
			t.Errorf("the full phone number (%s) appears in the logs:\n%s", form, all.String())
		}
	}
}

// TestFindMeRefusals: bad numbers, the SMS provider's refusal and limits,
// a wrong token, an expired link.
func TestFindMeRefusals(t *testing.T) {
	w := newFindWorld(t, func(o *findme.Options) { o.PerNumber = 2 })
	for _, body := range []string{`{"phone": "12345"}`, `{"phone": "+55 48 3333-1234"}`, `{"phone": ""}`, `not json`} {
		if code, m := w.askLink(t, body); code != http.StatusBadRequest || m["status"] != "invalid_request" || m["message"] == "" {
			t.Errorf("%s: %d %v", body, code, m)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/fortics/findme?token=wrong", strings.NewReader(`{"phone":"`+testPhone+`"}`))
	if code, _ := w.do(t, req); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	for i := range 2 {
		if code, m := w.askLink(t, `{"phone": "`+testPhone+`"}`); code != 200 {
			t.Fatalf("link %d: %d %v", i, code, m)
		}
	}
	if code, m := w.askLink(t, `{"phone": "`+testPhone+`"}`); code != http.StatusTooManyRequests || m["status"] != "rate_limited" {
		t.Errorf("third link in an hour: %d %v", code, m)
	}
	// the provider refuses (4xx): invalid_request, nothing waiting
	w.sms.FailNext(1, http.StatusBadRequest)
	if code, m := w.askLink(t, `{"phone": "+55 11 91234-5678"}`); code != http.StatusBadRequest || m["status"] != "invalid_request" {
		t.Errorf("provider refusal: %d %v", code, m)
	}
	// the provider is down (5xx every time): unavailable
	w.sms.FailNext(20, http.StatusInternalServerError)
	if code, m := w.askLink(t, `{"phone": "+55 11 98888-7777"}`); code != http.StatusServiceUnavailable || m["status"] != "unavailable" {
		t.Errorf("provider down: %d %v", code, m)
	}
	w.noFullNumber(t)
}

// TestFindMeAnswerLost: the gateway takes the SMS but its answer is lost.
// The SMS is not sent a second time, the bot hears "sent" with a word that
// it was not confirmed, and the link in the SMS works.
func TestFindMeAnswerLost(t *testing.T) {
	w := newFindWorld(t, nil)
	w.sms.DropAfterNext(1)
	code, m := w.askLink(t, `{"phone": "`+testPhone+`"}`)
	if code != http.StatusOK || m["status"] != "sent" || m["id"] == "" {
		t.Fatalf("link: %d %v", code, m)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, "não confirmou") || !strings.Contains(msg, "(48) 9****-5432") {
		t.Errorf("message %q: want the masked number and that the provider did not confirm", msg)
	}
	if n := len(w.sms.Messages()); n != 1 {
		t.Fatalf("the gateway took %d SMS, want 1", n)
	}
	id := m["id"].(string)
	if got := w.poll(t, id); got["status"] != "waiting" {
		t.Fatalf("poll: %v", got)
	}
	f := w.places.Found
	resp, err := http.PostForm(w.linkOf(t), url.Values{"lat": {fmt.Sprint(f.Lat)}, "lng": {fmt.Sprint(f.Lng)}, "source": {"map"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := w.poll(t, id); resp.StatusCode != 200 || got["status"] != "found" {
		t.Fatalf("confirm: %d, then %v", resp.StatusCode, got)
	}
	w.noFullNumber(t)
}

// TestFindMeExpiredLink: a link past its time is refused, the bot hears
// expired, and a run's sweep removes the number.
func TestFindMeExpiredLink(t *testing.T) {
	w := newFindWorld(t, func(o *findme.Options) { o.LinkTTL = bridge.Duration{Duration: time.Minute} })
	_, m := w.askLink(t, `{"phone": "`+testPhone+`"}`)
	id := m["id"].(string)
	link := w.linkOf(t)
	w.backdate(t, id)

	resp, _ := http.Get(link)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(page), "expir") {
		t.Errorf("expired link: %d %s", resp.StatusCode, page)
	}
	if got := w.poll(t, id); got["status"] != "expired" {
		t.Errorf("bot: %v", got)
	}
	it, _ := w.l.GetItem(context.Background(), "viability", "findme:"+id)
	if strings.Contains(it.Message, "998765432") {
		t.Errorf("the number stayed after expiry: %s", it.Message)
	}
	// an unknown token: one sentence
	resp, _ = http.Get(w.srv.URL + "/l/AAAAAAAAAAAAAAAAAAAAAA")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
}

// TestFindMeOldLinksForgotten: a run forgets the links last changed more
// than keep_days ago (their answers say where a customer is), and keeps
// the recent ones and those of other jobs; keep_days = 0 keeps all.
func TestFindMeOldLinksForgotten(t *testing.T) {
	ctx := context.Background()
	w := newFindWorld(t, nil)
	var ids []string
	for i := range 3 {
		code, m := w.askLink(t, fmt.Sprintf(`{"phone": "+55 48 99876-543%d"}`, i))
		if code != http.StatusOK {
			t.Fatalf("link %d: %d %v", i, code, m)
		}
		ids = append(ids, m["id"].(string))
	}
	// The first answered 100 days ago, the second expired 30 days ago.
	age := func(id string, days int) {
		t.Helper()
		it, err := w.l.GetItem(ctx, "viability", "findme:"+id)
		if err != nil {
			t.Fatal(err)
		}
		it.Outcome, it.Updated = findme.StateAnswered, time.Now().AddDate(0, 0, -days)
		if err := w.l.PutItem(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	age(ids[0], 100)
	age(ids[1], 30)
	other := ledger.Item{Job: "another-bot", Key: "findme:" + ids[0], Updated: time.Now().AddDate(-1, 0, 0)}
	if err := w.l.PutItem(ctx, other); err != nil {
		t.Fatal(err)
	}
	run := func(keep int) map[string]int64 {
		t.Helper()
		w.job.opts.KeepDays = keep
		rc := bridgetest.RunContext(t, w.l, "viability")
		if err := w.job.Run(ctx, rc); err != nil {
			t.Fatal(err)
		}
		return rc.Counts()
	}
	if n := run(0)["findme_forgotten"]; n != 0 {
		t.Errorf("keep_days = 0 forgot %d links", n)
	}
	if n := run(90)["findme_forgotten"]; n != 1 {
		t.Errorf("keep_days = 90 forgot %d links, want 1", n)
	}
	if code, m := w.do(t, w.pollRequest(t, ids[0])); code != http.StatusNotFound {
		t.Errorf("the forgotten link polls %d %v, want 404", code, m)
	}
	for _, id := range ids[1:] {
		if _, err := w.l.GetItem(ctx, "viability", "findme:"+id); err != nil {
			t.Errorf("link %s: %v, want kept", id, err)
		}
	}
	if _, err := w.l.GetItem(ctx, "another-bot", other.Key); err != nil {
		t.Errorf("another job's item: %v, want kept", err)
	}
}
