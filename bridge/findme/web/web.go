// Package web is the customer-facing FindME page (shared/contracts/findme.md):
// the HTML templates, their CSS and script, and a vendored copy of Leaflet
// 1.9.4 (leaflet/README.md), all embedded so that nothing is fetched from a
// CDN at run time.
//
// The page is one column, mobile-first, with no framework. Its form is a
// real POST form that works without JavaScript (an address field and two
// coordinate fields). With JavaScript, page.js adds a "use my location"
// button, a Leaflet map with one draggable pin (where tiles load) and a
// confirmation step. The page has no inline script or style, so it works
// under
//
//	default-src 'self'; img-src 'self' <tile host> data:; script-src 'self'; style-src 'self'
//
// The form posts lat, lng, address and source ("gps", "map", "typed" or
// "address"; empty when the page ran without JavaScript, in which case the
// server infers it).
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

//go:embed page.html done.html page.css page.js leaflet
var files embed.FS

// DefaultAssetBase is used when a Page or Done leaves AssetBase empty.
const DefaultAssetBase = "/l/assets/"

// The map centre when a Page gives none (0, 0): Brazil, seen whole.
const (
	defaultLat  = -14.235
	defaultLng  = -51.9253
	defaultZoom = 4
	// defaultPinZoom is the zoom used when a centre is given without one.
	defaultPinZoom = 15
)

// Assets is the page's static files, to be served under a Page's
// AssetBase: page.css, page.js and leaflet/ (leaflet.js, leaflet.css,
// images/marker-icon.png, images/marker-icon-2x.png,
// images/marker-shadow.png, LICENSE, README.md). The templates are not in
// it.
func Assets() fs.FS {
	return assetFS{files}
}

// assetFS lets through only the static files of files.
type assetFS struct{ fs embed.FS }

func isAsset(name string) bool {
	return name == "." || name == "page.css" || name == "page.js" ||
		name == "leaflet" || strings.HasPrefix(name, "leaflet/")
}

func (a assetFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) || !isAsset(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if name == "." {
		return rootDir{a}, nil
	}
	return a.fs.Open(name)
}

func (a assetFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) || !isAsset(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	entries, err := a.fs.ReadDir(name)
	if err != nil || name != "." {
		return entries, err
	}
	kept := entries[:0:0]
	for _, e := range entries {
		if isAsset(e.Name()) {
			kept = append(kept, e)
		}
	}
	return kept, nil
}

// rootDir is the asset FS's root, listing only the assets.
type rootDir struct{ a assetFS }

func (d rootDir) Stat() (fs.FileInfo, error) {
	f, err := d.a.fs.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat()
}
func (d rootDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: ".", Err: fs.ErrInvalid}
}
func (d rootDir) Close() error { return nil }
func (d rootDir) ReadDir(n int) ([]fs.DirEntry, error) {
	entries, err := d.a.ReadDir(".")
	if err != nil {
		return nil, err
	}
	if n > 0 && len(entries) > n {
		entries = entries[:n]
	}
	return entries, nil
}

// Page is what the location page shows.
type Page struct {
	// Lang is "pt-BR", "es" or "en": the html lang attribute, and the
	// language of the default texts.
	Lang string
	// Text overrides the default texts (Texts(Lang)) key by key; a key it
	// lacks keeps its default.
	Text map[string]string
	// Action is the form's POST URL ("/l/TOKEN").
	Action string
	// AssetBase is the URL prefix where Assets() is served ("/l/assets/",
	// the default when empty); it should end with "/".
	AssetBase string
	// TileURL is the map's tile template
	// ("https://tile.openstreetmap.org/{z}/{x}/{y}.png"); with none, the
	// page shows no map (the location button and the fields remain).
	TileURL string
	// Attribution is plain text ("© OpenStreetMap contributors"), shown
	// on the map; when it contains "OpenStreetMap" it links to
	// https://www.openstreetmap.org/copyright.
	Attribution string
	// Lat, Lng and Zoom are the map's initial centre and zoom; 0, 0 is
	// taken as "none" (Brazil, zoom 4), and Zoom <= 0 as 15.
	Lat, Lng float64
	Zoom     int
}

// Done is a page of one sentence: thanks, link used, link expired.
type Done struct {
	Lang           string
	Title, Message string
	// AssetBase is where page.css is served (DefaultAssetBase when empty).
	AssetBase string
}

// Renderer renders the pages from templates parsed once; it is safe for
// concurrent use.
type Renderer struct {
	page, done *template.Template
}

// NewRenderer parses the embedded templates.
func NewRenderer() (*Renderer, error) {
	page, err := template.ParseFS(files, "page.html")
	if err != nil {
		return nil, err
	}
	done, err := template.ParseFS(files, "done.html")
	if err != nil {
		return nil, err
	}
	return &Renderer{page: page, done: done}, nil
}

// pageView is what page.html is executed with.
type pageView struct {
	Page
	T                map[string]string
	OSM              bool
	ShowMap          bool
	LatText, LngText string
	ZoomText         int
}

// Page writes the location page; nothing is written when it fails.
func (r *Renderer) Page(w io.Writer, p Page) error {
	v := pageView{Page: p, T: Texts(p.Lang)}
	for k, s := range p.Text {
		v.T[k] = s
	}
	v.Lang = htmlLang(p.Lang)
	if v.AssetBase == "" {
		v.AssetBase = DefaultAssetBase
	}
	v.OSM = strings.Contains(p.Attribution, "OpenStreetMap")
	v.ShowMap = strings.TrimSpace(p.TileURL) != ""
	lat, lng, zoom := p.Lat, p.Lng, p.Zoom
	if lat == 0 && lng == 0 {
		lat, lng = defaultLat, defaultLng
		if zoom <= 0 {
			zoom = defaultZoom
		}
	}
	if zoom <= 0 {
		zoom = defaultPinZoom
	}
	v.LatText, v.LngText, v.ZoomText = formatCoord(lat), formatCoord(lng), zoom
	return execute(w, r.page, v)
}

// Done writes a one-sentence page; nothing is written when it fails.
func (r *Renderer) Done(w io.Writer, d Done) error {
	d.Lang = htmlLang(d.Lang)
	if d.AssetBase == "" {
		d.AssetBase = DefaultAssetBase
	}
	return execute(w, r.done, d)
}

func execute(w io.Writer, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// RenderPage is NewRenderer().Page(w, p).
func RenderPage(w io.Writer, p Page) error {
	r, err := NewRenderer()
	if err != nil {
		return err
	}
	return r.Page(w, p)
}

// RenderDone is NewRenderer().Done(w, d).
func RenderDone(w io.Writer, d Done) error {
	r, err := NewRenderer()
	if err != nil {
		return err
	}
	return r.Done(w, d)
}

// formatCoord writes a coordinate as a plain decimal (never with an
// exponent), as page.js and the number inputs read it.
func formatCoord(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// htmlLang is the page's language tag: one of "pt-BR", "es", "en".
func htmlLang(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	switch {
	case strings.HasPrefix(l, "es"):
		return "es"
	case strings.HasPrefix(l, "en"):
		return "en"
	default:
		return "pt-BR"
	}
}

// keys are the text keys a Page uses; Texts gives every one of them in
// every language.
var keys = [...]string{
	"title", "intro", "use_gps", "gps_wait", "gps_ok", "gps_denied", "gps_unavailable",
	"map_label", "map_no_tiles", "address_label", "address_placeholder", "lat_label", "lng_label",
	"review", "need_location", "confirm_title", "confirm_coords", "confirm_address", "confirm",
	"change", "sending", "privacy",
}

// Texts is a new map of the default texts in lang ("pt-BR", "es", "en";
// "pt…", "es…", "en…" are read as these, anything else as "pt-BR"). The
// caller may change the map. "confirm_coords" and "confirm_address" hold
// one %s (the "lat, lng" pair, the address).
func Texts(lang string) map[string]string {
	var src map[string]string
	switch htmlLang(lang) {
	case "es":
		src = textsES
	case "en":
		src = textsEN
	default:
		src = textsPT
	}
	m := make(map[string]string, len(src))
	for k, v := range src {
		m[k] = v
	}
	return m
}

var textsPT = map[string]string{
	"title":               "Onde você está?",
	"intro":               "Mostre o local da instalação para verificarmos se a fibra chega até você.",
	"use_gps":             "Usar minha localização",
	"gps_wait":            "Buscando sua localização…",
	"gps_ok":              "Localização encontrada.",
	"gps_denied":          "Não foi possível usar sua localização: a permissão foi negada. Arraste o marcador ou digite o endereço.",
	"gps_unavailable":     "Não foi possível obter sua localização agora. Arraste o marcador ou digite o endereço.",
	"map_label":           "Arraste o marcador até o local da instalação",
	"map_no_tiles":        "O mapa não pôde ser carregado. Use o botão de localização ou digite o endereço.",
	"address_label":       "Endereço",
	"address_placeholder": "Rua, número, bairro, cidade",
	"lat_label":           "Latitude",
	"lng_label":           "Longitude",
	"review":              "Revisar",
	"need_location":       "Informe o local: use o botão de localização, o mapa, as coordenadas ou o endereço.",
	"confirm_title":       "Confirme o local",
	"confirm_coords":      "Coordenadas: %s",
	"confirm_address":     "Endereço: %s",
	"confirm":             "Confirmar e enviar",
	"change":              "Alterar",
	"sending":             "Enviando…",
	"privacy":             "Sua localização é usada apenas para verificar a disponibilidade de fibra.",
}

var textsES = map[string]string{
	"title":               "¿Dónde estás?",
	"intro":               "Indica el lugar de la instalación para verificar si la fibra llega hasta ti.",
	"use_gps":             "Usar mi ubicación",
	"gps_wait":            "Buscando tu ubicación…",
	"gps_ok":              "Ubicación encontrada.",
	"gps_denied":          "No se pudo usar tu ubicación: el permiso fue denegado. Arrastra el marcador o escribe la dirección.",
	"gps_unavailable":     "No se pudo obtener tu ubicación ahora. Arrastra el marcador o escribe la dirección.",
	"map_label":           "Arrastra el marcador hasta el lugar de la instalación",
	"map_no_tiles":        "No se pudo cargar el mapa. Usa el botón de ubicación o escribe la dirección.",
	"address_label":       "Dirección",
	"address_placeholder": "Calle, número, barrio, ciudad",
	"lat_label":           "Latitud",
	"lng_label":           "Longitud",
	"review":              "Revisar",
	"need_location":       "Indica el lugar: usa el botón de ubicación, el mapa, las coordenadas o la dirección.",
	"confirm_title":       "Confirma el lugar",
	"confirm_coords":      "Coordenadas: %s",
	"confirm_address":     "Dirección: %s",
	"confirm":             "Confirmar y enviar",
	"change":              "Cambiar",
	"sending":             "Enviando…",
	"privacy":             "Tu ubicación se usa solo para verificar la disponibilidad de fibra.",
}

var textsEN = map[string]string{
	"title":               "Where are you?",
	"intro":               "Show us the installation address so we can check whether fibre reaches you.",
	"use_gps":             "Use my location",
	"gps_wait":            "Finding your location…",
	"gps_ok":              "Location found.",
	"gps_denied":          "Your location could not be used: permission was denied. Drag the pin or type the address.",
	"gps_unavailable":     "Your location could not be found right now. Drag the pin or type the address.",
	"map_label":           "Drag the pin to the installation address",
	"map_no_tiles":        "The map could not be loaded. Use the location button or type the address.",
	"address_label":       "Address",
	"address_placeholder": "Street, number, district, city",
	"lat_label":           "Latitude",
	"lng_label":           "Longitude",
	"review":              "Review",
	"need_location":       "Tell us the place: use the location button, the map, the coordinates or the address.",
	"confirm_title":       "Confirm the place",
	"confirm_coords":      "Coordinates: %s",
	"confirm_address":     "Address: %s",
	"confirm":             "Confirm and send",
	"change":              "Change",
	"sending":             "Sending…",
	"privacy":             "Your location is used only to check fibre availability.",
}
