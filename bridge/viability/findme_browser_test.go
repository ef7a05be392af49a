package viability

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
	"github.com/fieldbridge/fieldbridge/bridge/findme"
	"github.com/fieldbridge/fieldbridge/bridge/findme/findmebrowser"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
)

// browserCtx starts a headless Chromium with a phone's screen (390×844):
// skipped locally, failed under CI=true, when it is not installed.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	return bridgetest.Chromium(t, bridgetest.Screen{Phone: true}, 90*time.Second)
}

// TestFindMeInChromium: the customer opens the SMS link in a real headless
// Chromium whose position is near a free box, uses "my location", reviews
// and confirms; the bot's poll answers found with the box. With tiles
// served, and with the tile server unreachable. Then the used link, and an
// expired one, are refused with a sentence.
func TestFindMeInChromium(t *testing.T) {
	for _, tiles := range []string{"served", "unreachable"} {
		t.Run("tiles "+tiles, func(t *testing.T) {
			w := newFindWorld(t, func(o *findme.Options) {
				if tiles == "unreachable" {
					o.TileURL = "http://127.0.0.1:9/{z}/{x}/{y}.png" // discard port: refused
				}
			})
			if tiles == "served" {
				w.serveTiles(t)
			}
			ctx := browserCtx(t)
			_, m := w.askLink(t, `{"phone": "`+testPhone+`"}`)
			id, _ := m["id"].(string)
			link := w.linkOf(t)
			f := w.places.Found
			if err := findmebrowser.UsePosition(ctx, link, f.Lat, f.Lng); err != nil {
				t.Fatalf("page: %v\nlogs:\n%s", err, w.logs.String())
			}
			latVal := run(t, ctx, chromedp.Value(chromedp.CSS("#lat")))
			run(t, ctx, chromedp.Sleep(300*time.Millisecond))
			shot := run(t, ctx, chromedp.FullScreenshot(100))
			run(t, ctx, chromedp.Click(chromedp.CSS("#review")))
			run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#confirm-panel")))
			panel := run(t, ctx, chromedp.Text(chromedp.CSS("#confirm-panel")))
			tileStatus := run(t, ctx, chromedp.TextContent(chromedp.CSS("#tiles-status")))
			p := screenshotPath(t, "findme-390x844-tiles-"+tiles+".png")
			if err := os.WriteFile(p, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot of the page (390×844, tiles %s): %s", tiles, p)
			if !strings.HasPrefix(latVal, "-27.57") {
				t.Errorf("lat field %q after using the position", latVal)
			}
			if !strings.Contains(panel, "-27.57") {
				t.Errorf("the confirmation does not show what will be sent: %q", panel)
			}
			if tiles == "unreachable" && strings.TrimSpace(tileStatus) == "" {
				t.Error("tiles unreachable, and the page does not say so")
			}
			run(t, ctx, chromedp.Click(chromedp.CSS("#confirm")))
			run(t, ctx, chromedp.WaitVisible(chromedp.CSS("main.page-done")))
			got := w.poll(t, id)
			if got["status"] != "found" || got["box"] != viabilitytest.FoundBox {
				b, _ := json.Marshal(got)
				t.Fatalf("the bot's answer after the customer confirmed: %s", b)
			}
			// The used link: one sentence.
			run(t, ctx, chromedp.Navigate(link))
			body := run(t, ctx, chromedp.Text(chromedp.CSS("body")))
			if !strings.Contains(body, "já foi usado") {
				t.Errorf("the used link: %q", body)
			}
			if strings.Contains(body, "<form") {
				t.Error("the used link still shows the form")
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		w := newFindWorld(t, nil)
		ctx := browserCtx(t)
		_, m := w.askLink(t, `{"phone": "`+testPhone+`"}`)
		id := m["id"].(string)
		w.backdate(t, id)
		run(t, ctx, chromedp.Navigate(w.linkOf(t)))
		body := run(t, ctx, chromedp.Text(chromedp.CSS("body")))
		if !strings.Contains(body, "expirou") {
			t.Errorf("expired link: %q", body)
		}
	})
}

// screenshotPath is where a screenshot named name is kept after the test
// (the temp folder's fieldbridge-screenshots, not the test's own temp
// folder, which is removed), so that a person can look at it.
func screenshotPath(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "fieldbridge-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// run runs one browser action, failing the test on its error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	return bridgetest.Do(t, ctx, a)
}

// serveTiles answers every tile with one small PNG.
func (w *findWorld) serveTiles(t *testing.T) {
	t.Helper()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	w.srv.Config.Handler.(*http.ServeMux).HandleFunc("/tiles/", func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "image/png")
		rw.Write(png)
	})
}

// backdate makes a link's expiry one second ago.
func (w *findWorld) backdate(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	it, err := w.l.GetItem(ctx, "viability", "findme:"+id)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(it.Message), &rec); err != nil {
		t.Fatal(err)
	}
	rec["expires"] = time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	b, _ := json.Marshal(rec)
	it.Message = string(b)
	if err := w.l.PutItem(ctx, it); err != nil {
		t.Fatal(err)
	}
}
