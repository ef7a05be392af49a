package viability_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/viability"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
	"github.com/fieldbridge/fieldbridge/connectors/fortics/forticstest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
)

// TestThroughTheEngine runs the job in the real engine and HTTP server:
// the route skips the server token (it checks its own, or falls back to the
// server's), the status page shows the day's summary, /metrics counts, and
// Close flushes the question log.
func TestThroughTheEngine(t *testing.T) {
	fake := ozmaptest.New(ozmaptest.Options{})
	defer fake.Close()
	places := viabilitytest.Seed(fake)
	dir := t.TempDir()
	reg := &bridge.Registry{}
	reg.AddKind(viability.Kind())
	reg.AddConn(boxsync.OZmapConnType())
	cfg, err := bridge.ParseConfig(filepath.Join(dir, "c.toml"), []byte(fmt.Sprintf(`
data_dir = "data"
language = "en"
[http]
token = "server-token"
[connections.oz]
type = "ozmap"
base_url = %q
key = %q
[[job]]
name = "chat"
kind = "fortics-viability"
ozmap = "oz"
`, fake.URL(), fake.Key())), reg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := bridge.NewEngine(context.Background(), bridge.EngineOptions{Config: cfg, Registry: reg, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := bridge.NewServer(e)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	// No job token: the server's token is the chatbot's.
	bot := &forticstest.Bot{URL: ts.URL + "/fortics/viability", Token: "server-token"}
	rp, err := bot.Ask(context.Background(), forticstest.Question{Shape: forticstest.QueryLatLng, Lat: places.Found.Lat, Lng: places.Found.Lng})
	if err != nil || rp.Code != 200 || rp.Answer.Status != "found" || rp.Answer.Message != "Fibre is available at your address." {
		t.Fatalf("%v %d %s", err, rp.Code, rp.Raw)
	}
	bot.Token = "other"
	if rp, err := bot.Ask(context.Background(), forticstest.Question{Shape: forticstest.QueryLatLng, Lat: 1, Lng: 1}); err != nil || rp.Code != 401 {
		t.Fatalf("wrong token: %v %d %s", err, rp.Code, rp.Raw)
	}

	get := func(path string) string {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer server-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The writer counts in the background.
	var page string
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if page = get("/"); strings.Contains(page, "today: 2 questions (found 1, unauthorized 1)") {
			break
		}
	}
	if !strings.Contains(page, "today: 2 questions (found 1, unauthorized 1)") {
		t.Errorf("status page lacks the summary:\n%s", page)
	}
	if m := get("/metrics"); !strings.Contains(m, `fieldbridge_viability_answers_total{job="chat",status="found"} 1`) {
		t.Errorf("metrics lack the answer")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := viability.ReadDay(viability.LogDir(cfg, "chat"), time.Now().In(cfg.Location()).Format(time.DateOnly))
	if err != nil || len(recs) != 2 {
		t.Fatalf("log after Close: %d records, %v", len(recs), err)
	}
}
