package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/findme/findmebrowser"
	"github.com/fieldbridge/fieldbridge/bridge/viability/viabilitytest"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
	"github.com/fieldbridge/fieldbridge/connectors/sms"
	"github.com/fieldbridge/fieldbridge/connectors/sms/smstest"
)

// demoFindME plays FindME: the chatbot asks for a link, the fake SMS
// gateway "delivers" it, a headless Chromium (when one is installed; the
// page's plain form otherwise) opens it, uses the phone's position and
// confirms, and the bot's poll gets the flat answer.
var demoFindME = demoStep{Name: "Fortics chatbot → FindME (SMS link, the customer picks the spot on a map)", Run: runDemoFindME}

const demoFindMEPhone = "+55 48 99876-5432"

func runDemoFindME(ctx context.Context, d *demo) error {
	fake := ozmaptest.New(ozmaptest.Options{})
	defer fake.Close()
	places := viabilitytest.Seed(fake)
	gw := smstest.NewServer()
	defer gw.Close()
	delivered := make(chan smstest.Message, 4)
	gw.OnMessage(func(m smstest.Message) { delivered <- m })
	tiles := httptest.NewServer(demoTiles())
	defer tiles.Close()

	// The link names the bridge's own address: listen first, so that the
	// configuration can say public_url.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	publicURL := "http://" + ln.Addr().String()
	cfg, err := d.Config(fmt.Sprintf(`
data_dir = "{{dir}}/data"

[http]
token = "demo-server-token"

[connections.ozmap]
type = "ozmap"
base_url = %q
key = %q

[connections.sms]
type = "sms"
provider = "zenvia"
base_url = %q
from = %q
token = %q

[[job]]
name = "viability"
kind = "fortics-viability"
ozmap = "ozmap"
token = %q

[job.findme]
public_url = %q
sms = "sms"
link_ttl = "10m"
tile_url = %q
attribution = "demo tiles"
map_lat = %v
map_lng = %v
`, fake.URL(), fake.Key(), gw.URL(), gw.ZenviaFrom, gw.ZenviaToken, demoChatbotToken, publicURL,
		tiles.URL+"/{z}/{x}/{y}.png", places.Found.Lat, places.Found.Lng))
	if err != nil {
		ln.Close()
		return err
	}
	e, err := d.Engine(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer e.Close()
	srv, err := bridge.NewServer(e)
	if err != nil {
		ln.Close()
		return err
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	defer ts.Close()
	d.Printf("the bridge serves the bot at %s/fortics/findme and the customers' page at %s/l/<token>", ts.URL, ts.URL)

	// 1. The bot asks for a link.
	rp, body, err := demoBotCall(ctx, http.MethodPost, ts.URL+"/fortics/findme", `{"phone": "`+demoFindMEPhone+`", "chat": "demo-chat-1"}`)
	if err != nil {
		return err
	}
	d.Printf("bot: POST /fortics/findme {\"phone\": %q} → %d %s", demoFindMEPhone, rp, body)
	var sent struct{ Status, ID string }
	if err := json.Unmarshal([]byte(body), &sent); err != nil || sent.Status != "sent" {
		return fmt.Errorf("link request: %d %s", rp, body)
	}

	// 2. The gateway delivers it.
	var msg smstest.Message
	select {
	case msg = <-delivered:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("the fake gateway received no SMS")
	}
	masked := sms.Mask("+" + msg.To)
	d.Printf("the SMS gateway (fake Zenvia) delivers to %s: %q (%d characters)", masked, msg.Text, len(msg.Text))
	link := regexp.MustCompile(`https?://\S+/l/[A-Za-z0-9_-]+`).FindString(msg.Text)
	if link == "" {
		return fmt.Errorf("no link in the SMS %q", msg.Text)
	}
	rp, body, err = demoBotCall(ctx, http.MethodGet, ts.URL+"/fortics/findme/"+sent.ID, "")
	if err != nil {
		return err
	}
	d.Printf("bot polls: GET /fortics/findme/%s → %d %s", sent.ID, rp, body)

	// 3. The customer opens the link and confirms.
	f := places.Found
	if path, ok := findmebrowser.Find(); ok {
		shot, err := confirmInChromium(ctx, path, link, f.Lat, f.Lng, d.Dir)
		if err != nil {
			return fmt.Errorf("headless Chromium: %w", err)
		}
		d.Printf("headless Chromium (%s, 390×844) opens the link, taps \"use my location\" (the phone is at %.5f, %.5f), reviews and confirms", path, f.Lat, f.Lng)
		d.Printf("the page as the customer saw it: %s", shot)
	} else {
		d.Printf("no Chromium here (apt-get install chromium): posting the page's form as a phone without JavaScript would")
		resp, err := http.PostForm(link, url.Values{"lat": {fmt.Sprint(f.Lat)}, "lng": {fmt.Sprint(f.Lng)}, "source": {"map"}})
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("the page refused the location: %d", resp.StatusCode)
		}
	}

	// 4. The bot's next poll has the answer.
	rp, body, err = demoBotCall(ctx, http.MethodGet, ts.URL+"/fortics/findme/"+sent.ID, "")
	if err != nil {
		return err
	}
	d.Printf("bot polls: GET /fortics/findme/%s → %d %s", sent.ID, rp, body)
	var ans struct{ Status string }
	if json.Unmarshal([]byte(body), &ans); ans.Status != "found" {
		return fmt.Errorf("answer after the customer confirmed: %s", body)
	}

	// 5. The link was single use.
	resp, err := http.Get(link)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	d.Printf("the same link opened again → %d %q", resp.StatusCode, pageSentence(page))
	if resp.StatusCode != http.StatusGone {
		return fmt.Errorf("a used link answered %d", resp.StatusCode)
	}
	return nil
}

// demoBotCall is one call of the chatbot to the bridge (token as a Bearer
// header); it returns the status code and the body, trimmed.
func demoBotCall(ctx context.Context, method, u, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+demoChatbotToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(bytes.TrimSpace(b)), err
}

// pageSentence is the text of a refusal page's <main> (or its <title>).
func pageSentence(page []byte) string {
	for _, re := range []*regexp.Regexp{regexp.MustCompile(`(?s)<main[^>]*>(.*?)</main>`), regexp.MustCompile(`(?s)<title>(.*?)</title>`)} {
		if m := re.FindSubmatch(page); m != nil {
			txt := regexp.MustCompile(`<[^>]+>`).ReplaceAll(m[1], []byte(" "))
			return strings.Join(strings.Fields(string(txt)), " ")
		}
	}
	return ""
}
