package web

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func testPage() Page {
	return Page{
		Lang:        "pt-BR",
		Action:      "/l/TOKEN123",
		AssetBase:   "/l/assets/",
		TileURL:     "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
		Attribution: "© OpenStreetMap contributors",
		Lat:         -27.5954,
		Lng:         -48.548,
		Zoom:        13,
	}
}

func render(t *testing.T, p Page) string {
	t.Helper()
	var b bytes.Buffer
	if err := RenderPage(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRenderPage(t *testing.T) {
	out := render(t, testPage())
	for _, want := range []string{
		`<html lang="pt-BR">`,
		`<form id="findme" class="findme" method="post" action="/l/TOKEN123">`,
		`<link rel="stylesheet" href="/l/assets/page.css">`,
		`<link rel="stylesheet" href="/l/assets/leaflet/leaflet.css">`,
		`<script src="/l/assets/leaflet/leaflet.js" defer></script>`,
		`<script src="/l/assets/page.js" defer></script>`,
		`name="lat"`, `name="lng"`, `name="address"`, `name="source"`,
		`data-lat="-27.5954"`, `data-lng="-48.548"`, `data-zoom="13"`, `data-asset-base="/l/assets/"`,
		`data-tile-url="https://tile.openstreetmap.org/`,
		`<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap contributors</a>`,
		`aria-label="Arraste o marcador até o local da instalação"`,
		`role="region"`,
		`aria-live="polite"`,
		">Onde você está?</h1>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, id := range []string{"use-gps", "map", "lat", "lng", "address", "review", "confirm-panel",
		"confirm", "change", "status", "tiles-status"} {
		if n := strings.Count(out, `id="`+id+`"`); n != 1 {
			t.Errorf("id %q appears %d times", id, n)
		}
	}
	// Every visible input has its label.
	inputs := regexp.MustCompile(`<input id="([^"]+)"[^>]*>`).FindAllStringSubmatch(out, -1)
	if len(inputs) < 3 {
		t.Fatalf("found %d inputs", len(inputs))
	}
	for _, m := range inputs {
		if strings.Contains(m[0], `type="hidden"`) {
			continue
		}
		if !strings.Contains(out, `<label for="`+m[1]+`">`) {
			t.Errorf("input %q has no label", m[1])
		}
	}
	// No inline script or style: a strict CSP holds.
	for _, m := range regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(out, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %q", m[0])
		}
	}
	for _, bad := range []string{"style=", "<style", "onclick", "onload", "onerror", "javascript:"} {
		if strings.Contains(strings.ToLower(out), bad) {
			t.Errorf("page has %q", bad)
		}
	}
	// The form works without JavaScript: its submit button is in the markup.
	if !strings.Contains(out, `<button type="submit" id="review"`) {
		t.Error("no submit button")
	}
	// The button is shown as "Confirmar e enviar" without JavaScript, "Revisar" with it.
	if !strings.Contains(out, `data-review="Revisar">Confirmar e enviar</button>`) {
		t.Error("review button's labels")
	}
}

func TestRenderPageEscapes(t *testing.T) {
	p := testPage()
	p.Action = `javascript:alert(1)`
	p.Attribution = `<img src=x onerror=alert(1)>`
	p.Text = map[string]string{
		"title":          `</title><script>alert(1)</script>`,
		"intro":          `"><b onmouseover=alert(1)>`,
		"map_label":      `" onfocus="alert(1)`,
		"confirm_coords": `<i>%s</i>`,
	}
	out := render(t, p)
	for _, bad := range []string{"<script>alert", "<b onmouseover", `" onfocus="`, "<img src=x", "javascript:", "<i>%s"} {
		if strings.Contains(out, bad) {
			t.Errorf("unescaped %q", bad)
		}
	}
	if !strings.Contains(out, `action="#ZgotmplZ"`) {
		t.Error("a javascript: action was not refused")
	}
	if !strings.Contains(out, "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("title not escaped")
	}
	if strings.Contains(out, "openstreetmap.org/copyright") {
		t.Error("an attribution without OpenStreetMap got the OSM link")
	}

	p = testPage()
	p.Action = `/l/a"><script>x</script>`
	out = render(t, p)
	if strings.Contains(out, `"><script>x`) {
		t.Error("hostile Action not escaped")
	}
}

func TestRenderPageDefaults(t *testing.T) {
	out := render(t, Page{Lang: "en-GB", Action: "/l/x", Text: map[string]string{"title": "Hi"}})
	for _, want := range []string{`<html lang="en">`, ">Hi</h1>", "Use my location", `href="/l/assets/page.css"`} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// With no tile URL there is no map, and Leaflet is not loaded.
	if strings.Contains(out, `id="map"`) || strings.Contains(out, "leaflet.js") {
		t.Error("a map without a tile URL")
	}
	out = render(t, Page{Action: "/l/x", TileURL: "https://t/{z}/{x}/{y}.png"})
	for _, want := range []string{`<html lang="pt-BR">`, `data-lat="-14.235"`, `data-zoom="4"`} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(out, `id="map-attribution"`) {
		t.Error("an empty attribution")
	}
	out = render(t, Page{Action: "/l/x", TileURL: "https://t/{z}/{x}/{y}.png", Lat: 1e-7, Lng: 2})
	if !strings.Contains(out, `data-lat="0.0000001"`) || !strings.Contains(out, `data-zoom="15"`) {
		t.Error("coordinates not written as plain decimals, or zoom default")
	}
}

func TestRenderDone(t *testing.T) {
	r, err := NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.Done(&b, Done{Lang: "es", Title: "¡Gracias!", Message: "<b>ok</b>"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`<html lang="es">`, "<h1>¡Gracias!</h1>", "&lt;b&gt;ok&lt;/b&gt;", `href="/l/assets/page.css"`} {
		if !strings.Contains(out, want) {
			t.Errorf("done page lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "style=") {
		t.Error("script or inline style on the done page")
	}
	b.Reset()
	if err := RenderDone(&b, Done{Title: "T", Message: "M", AssetBase: "/x/"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `href="/x/page.css"`) || !strings.Contains(b.String(), `lang="pt-BR"`) {
		t.Error(b.String())
	}
}

func TestTexts(t *testing.T) {
	required := []string{"title", "intro", "use_gps", "gps_wait", "gps_denied", "gps_unavailable", "map_label",
		"map_no_tiles", "address_label", "address_placeholder", "lat_label", "lng_label", "review",
		"confirm_title", "confirm_coords", "confirm_address", "confirm", "change", "sending", "privacy"}
	for _, lang := range []string{"pt-BR", "es", "en"} {
		m := Texts(lang)
		for _, k := range append(required, keys[:]...) {
			if strings.TrimSpace(m[k]) == "" {
				t.Errorf("%s: no text for %q", lang, k)
			}
		}
		if len(m) != len(keys) {
			t.Errorf("%s: %d texts, %d keys", lang, len(m), len(keys))
		}
		for _, k := range []string{"confirm_coords", "confirm_address"} {
			if strings.Count(m[k], "%s") != 1 {
				t.Errorf("%s: %q needs one %%s: %q", lang, k, m[k])
			}
		}
	}
	if Texts("pt-BR")["title"] != "Onde você está?" || Texts("es")["title"] == Texts("en")["title"] {
		t.Error("texts per language")
	}
	if Texts("xx")["use_gps"] != "Usar minha localização" || Texts("es-AR")["use_gps"] != Texts("es")["use_gps"] {
		t.Error("language fallback")
	}
	m := Texts("en")
	m["title"] = "changed"
	if Texts("en")["title"] == "changed" {
		t.Error("Texts shares its map")
	}
}

func TestAssets(t *testing.T) {
	a := Assets()
	for _, name := range []string{"leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/LICENSE",
		"leaflet/images/marker-icon.png", "leaflet/images/marker-icon-2x.png", "leaflet/images/marker-shadow.png",
		"page.js", "page.css"} {
		b, err := fs.ReadFile(a, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	for _, name := range []string{"page.html", "done.html", "web.go", "../web.go"} {
		if _, err := a.Open(name); err == nil {
			t.Errorf("%s is served", name)
		}
	}
	if b, _ := fs.ReadFile(a, "leaflet/LICENSE"); !strings.Contains(string(b), "BSD 2-Clause") {
		t.Error("Leaflet's licence")
	}
	if b, _ := fs.ReadFile(a, "leaflet/leaflet.js"); !strings.Contains(string(b), `version="1.9.4"`) &&
		!strings.Contains(string(b), `"1.9.4"`) {
		t.Error("Leaflet is not 1.9.4")
	}
	root, err := fs.ReadDir(a, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range root {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "leaflet page.css page.js" {
		t.Errorf("root lists %v", names)
	}
	if err := fs.WalkDir(a, ".", func(string, fs.DirEntry, error) error { return nil }); err != nil {
		t.Error(err)
	}
	if sub, err := fs.Sub(a, "."); err != nil || sub == nil {
		t.Error(err)
	}
}
