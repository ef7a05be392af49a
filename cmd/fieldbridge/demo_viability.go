package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/viability"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
	"github.com/fieldbridge/fieldbridge/connectors/fortics/forticstest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
)

// demoViability plays the Fortics chatbot flow: the OZmap fake holds a few
// poles and boxes, the bridge's real HTTP server answers a simulated
// chatbot, one question per outcome.
var demoViability = demoStep{Name: "Fortics chatbot → viability at an address (OZmap poles + feasibility)", Run: runDemoViability}

const demoChatbotToken = "demo-chatbot-token"

func runDemoViability(ctx context.Context, d *demo) error {
	fake := ozmaptest.New(ozmaptest.Options{})
	defer fake.Close()
	places := viabilitytest.Seed(fake)
	geo := forticstest.NewGeocoder()
	defer geo.Close()
	viabilitytest.SeedGeocoder(geo, places)

	cfg, err := d.Config(fmt.Sprintf(`
data_dir = "{{dir}}/data"

[http]
token = "demo-server-token"

[connections.ozmap]
type = "ozmap"
base_url = %q
key = %q

[[job]]
name = "viability"
kind = "fortics-viability"
ozmap = "ozmap"
token = %q
geocoder_url = %q
deadline = "1s"
call_timeout = "800ms"
`, fake.URL(), fake.Key(), demoChatbotToken, geo.URL()))
	if err != nil {
		return err
	}
	_, base, stop, err := d.Serve(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	d.Printf("OZmap fake with poles P_0001 (unusable), P_2520, P_3100, P_4000 (unusable) and boxes CTO 22-04 (full), CTO 22-05 (6 free ports), CTO 31-01 (full)")
	d.Printf("the bridge serves the chatbot at %s/fortics/viability", base)

	bot := &forticstest.Bot{URL: base + "/fortics/viability", Token: demoChatbotToken}
	questions := []struct {
		what string
		q    forticstest.Question
		want string
	}{
		{"coordinates (lat/lng in the query)", forticstest.Question{Shape: forticstest.QueryLatLng, Lat: places.Found.Lat, Lng: places.Found.Lng}, "found"},
		{"an address (geocoded)", forticstest.Question{Shape: forticstest.JSONAddress, Address: places.Address}, "found"},
		{"a WhatsApp location (JSON)", forticstest.Question{Shape: forticstest.JSONLocation, Lat: places.NoViability.Lat, Lng: places.NoViability.Lng}, "no_viability"},
		{"a Google Maps link", forticstest.Question{Shape: forticstest.QueryLink, Lat: places.NotFound.Lat, Lng: places.NotFound.Lng}, "not_found"},
		{"coordinates with a decimal comma, far from any usable pole", forticstest.Question{Shape: forticstest.QueryLatLngComma, Lat: places.UnusableOnly.Lat, Lng: places.UnusableOnly.Lng}, "not_found"},
		{"the first question again (from the cache)", forticstest.Question{Shape: forticstest.QueryCoords, Lat: places.Found.Lat, Lng: places.Found.Lng}, "found"},
	}
	for _, q := range questions {
		rp, err := bot.Ask(ctx, q.q)
		if err != nil {
			return err
		}
		d.Printf("%s → %d %s", q.what, rp.Code, strings.TrimSpace(string(rp.Raw)))
		if rp.Answer.Status != q.want {
			return fmt.Errorf("%s: status %q, want %q", q.what, rp.Answer.Status, q.want)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/fortics/viability?token="+demoChatbotToken+"&coords=amanh%C3%A3", nil)
	if rp, err := bot.Do(req); err != nil || rp.Code != http.StatusBadRequest {
		return fmt.Errorf("bad input: %d %v", rp.Code, err)
	} else {
		d.Printf("unreadable coordinates → %d %s", rp.Code, strings.TrimSpace(string(rp.Raw)))
	}
	bad := &forticstest.Bot{URL: bot.URL, Token: "guess"}
	if rp, err := bad.Ask(ctx, questions[0].q); err != nil || rp.Code != http.StatusUnauthorized {
		return fmt.Errorf("wrong token: %d %v", rp.Code, err)
	} else {
		d.Printf("a wrong token → %d %s", rp.Code, strings.TrimSpace(string(rp.Raw)))
	}
	fake.SetLatency(5 * time.Second)
	start := time.Now()
	slow := forticstest.Question{Shape: forticstest.QueryLatLng, Lat: -27.6, Lng: -48.6}
	if rp, err := bot.Ask(ctx, slow); err != nil || rp.Code != http.StatusServiceUnavailable {
		return fmt.Errorf("slow OZmap: %d %v", rp.Code, err)
	} else {
		d.Printf("OZmap answering in 5 s → %d %s (after %v: the job's deadline is 1s)", rp.Code, strings.TrimSpace(string(rp.Raw)), time.Since(start).Round(10*time.Millisecond))
	}
	fake.SetLatency(0)

	// The day's questions, as `fieldbridge viability log` shows them (the
	// log is written in the background: wait for the 9 records).
	day := time.Now().In(cfg.Location()).Format(time.DateOnly)
	dir := viability.LogDir(cfg, "viability")
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if recs, _ := viability.ReadDay(dir, day); len(recs) >= 9 {
			break
		}
	}
	d.Printf("fieldbridge viability log -config demo.toml:")
	var b strings.Builder
	if err := viability.PrintLog(&b, cfg, "", day, false); err != nil {
		return err
	}
	fmt.Fprint(d.Out, indent(b.String(), "    ")+"\n")

	d.Printf("ask it yourself while `fieldbridge run` serves such a config on 127.0.0.1:8080:")
	d.Printf("  curl 'http://127.0.0.1:8080/fortics/viability?token=CHATBOT_TOKEN&lat=-27.5760&lng=-48.5270'")
	return nil
}
