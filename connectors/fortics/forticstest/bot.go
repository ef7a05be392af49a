// Package forticstest imitates the Fortics side of the viability flow: a
// chatbot HTTP block that asks the bridge with the variable shapes real
// bots send (Bot), and a Nominatim-compatible geocoder (Geocoder). Tests,
// `fieldbridge demo` and the load generator use it.
package forticstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// Shape is one way a chatbot HTTP block sends the location.
type Shape string

// The shapes a bot sends.
const (
	QueryLatLng      Shape = "query-latlng"       // GET ?lat=-23.55&lng=-46.63
	QueryLatLngComma Shape = "query-latlng-comma" // GET ?lat=-23,55&lng=-46,63 (decimal comma)
	QueryCoords      Shape = "query-coords"       // GET ?coords=-23.55, -46.63
	QueryLink        Shape = "query-link"         // GET ?link=https://www.google.com/maps/@-23.55,-46.63,17z
	QueryAddress     Shape = "query-address"      // GET ?address=Rua X, 100
	JSONNumbers      Shape = "json-numbers"       // POST {"lat": -23.55, "lng": -46.63}
	JSONStrings      Shape = "json-strings"       // POST {"latitude": "-23,55", "longitude": "-46,63"}
	JSONLocation     Shape = "json-location"      // POST {"location": {"latitude": .., "longitude": ..}} (WhatsApp location)
	JSONLink         Shape = "json-link"          // POST {"location": "Minha localização: https://maps.google.com/?q=.."}
	JSONAddress      Shape = "json-address"       // POST {"endereco": "Rua X, 100"}
	FormLatLng       Shape = "form-latlng"        // POST lat=..&lng=.. (form)
	FormCoords       Shape = "form-coords"        // POST coordenadas=..;.. (form)
	FormLink         Shape = "form-link"          // POST url=https://maps.google.com/maps?ll=..,..(form)
)

// CoordShapes are the shapes that carry coordinates; AddressShapes carry an
// address.
var (
	CoordShapes = []Shape{QueryLatLng, QueryLatLngComma, QueryCoords, QueryLink, JSONNumbers,
		JSONStrings, JSONLocation, JSONLink, FormLatLng, FormCoords, FormLink}
	AddressShapes = []Shape{QueryAddress, JSONAddress}
)

// Question is what the bot asks.
type Question struct {
	Shape    Shape
	Lat, Lng float64
	// Address is used by the address shapes.
	Address string
}

// Where the bot puts the token.
const (
	TokenInQuery  = "query"  // ?token=
	TokenInHeader = "header" // X-Token
	TokenInBearer = "bearer" // Authorization: Bearer
	TokenInBody   = "body"   // a "token" field of the JSON or form body
)

// Bot is a chatbot HTTP block pointed at the bridge.
type Bot struct {
	// URL is the viability URL, e.g. "http://127.0.0.1:8080/fortics/viability".
	URL   string
	Token string
	// TokenIn is where the token goes (TokenInQuery by default — what every
	// chatbot block can do; TokenInBody falls back to the query for GET).
	TokenIn string
	// Client is the HTTP client (http.DefaultClient by default).
	Client *http.Client
}

// Reply is the bridge's answer as the bot sees it.
type Reply struct {
	Code        int
	ContentType string
	Answer      fortics.Answer
	// Keys are the JSON object's keys, sorted.
	Keys    []string
	Raw     []byte
	Latency time.Duration
}

// Ask sends q and reads the answer. It fails when the answer is not a JSON
// object (a bot cannot branch on HTML).
func (b *Bot) Ask(ctx context.Context, q Question) (Reply, error) {
	req, err := b.Request(ctx, q)
	if err != nil {
		return Reply{}, err
	}
	return b.Do(req)
}

// Do sends a prepared request (from Request, or a hand-made one) and reads
// the answer.
func (b *Bot) Do(req *http.Request) (Reply, error) {
	c := b.Client
	if c == nil {
		c = http.DefaultClient
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	rp := Reply{Code: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Raw: raw, Latency: time.Since(start)}
	if err != nil {
		return rp, err
	}
	if mt, _, _ := mime.ParseMediaType(rp.ContentType); mt != "application/json" {
		return rp, fmt.Errorf("answer %d is %q, not JSON: %.200s", rp.Code, rp.ContentType, raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return rp, fmt.Errorf("answer %d is not a JSON object: %w: %.200s", rp.Code, err, raw)
	}
	for k := range m {
		rp.Keys = append(rp.Keys, k)
	}
	sort.Strings(rp.Keys)
	if err := json.Unmarshal(raw, &rp.Answer); err != nil {
		return rp, fmt.Errorf("answer %d has unexpected types: %w: %.200s", rp.Code, err, raw)
	}
	return rp, nil
}

// Request builds the HTTP request a bot sends for q.
func (b *Bot) Request(ctx context.Context, q Question) (*http.Request, error) {
	u, err := url.Parse(b.URL)
	if err != nil {
		return nil, err
	}
	query := u.Query()
	lat, lng := ff(q.Lat), ff(q.Lng)
	comma := func(s string) string { return strings.ReplaceAll(s, ".", ",") }
	var (
		method   = http.MethodGet
		body     []byte
		ctype    string
		jsonBody map[string]any
		form     url.Values
	)
	switch q.Shape {
	case QueryLatLng:
		query.Set("lat", lat)
		query.Set("lng", lng)
	case QueryLatLngComma:
		query.Set("lat", comma(lat))
		query.Set("lng", comma(lng))
	case QueryCoords:
		query.Set("coords", lat+", "+lng)
	case QueryLink:
		query.Set("link", "https://www.google.com/maps/@"+lat+","+lng+",17z")
	case QueryAddress:
		query.Set("address", q.Address)
	case JSONNumbers:
		jsonBody = map[string]any{"lat": json.Number(lat), "lng": json.Number(lng)}
	case JSONStrings:
		jsonBody = map[string]any{"latitude": comma(lat), "longitude": comma(lng)}
	case JSONLocation:
		jsonBody = map[string]any{"contact": "5548999990000",
			"location": map[string]any{"latitude": json.Number(lat), "longitude": json.Number(lng)}}
	case JSONLink:
		jsonBody = map[string]any{"location": "Minha localização: https://maps.google.com/?q=" + lat + "," + lng}
	case JSONAddress:
		jsonBody = map[string]any{"endereco": q.Address}
	case FormLatLng:
		form = url.Values{"lat": {lat}, "lng": {lng}}
	case FormCoords:
		form = url.Values{"coordenadas": {comma(lat) + "; " + comma(lng)}}
	case FormLink:
		form = url.Values{"url": {"https://maps.google.com/maps?ll=" + lat + "," + lng + "&z=18"}}
	default:
		return nil, fmt.Errorf("forticstest: unknown shape %q", q.Shape)
	}
	switch {
	case jsonBody != nil:
		method, ctype = http.MethodPost, "application/json"
		if b.TokenIn == TokenInBody {
			jsonBody["token"] = b.Token
		}
		body, _ = json.Marshal(jsonBody)
	case form != nil:
		method, ctype = http.MethodPost, "application/x-www-form-urlencoded"
		if b.TokenIn == TokenInBody {
			form.Set("token", b.Token)
		}
		body = []byte(form.Encode())
	}
	if b.Token != "" && (b.TokenIn == "" || b.TokenIn == TokenInQuery || (b.TokenIn == TokenInBody && method == http.MethodGet)) {
		query.Set("token", b.Token)
	}
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "Fortics-Chatbot-HTTP-Block (forticstest)")
	switch b.TokenIn {
	case TokenInHeader:
		req.Header.Set("X-Token", b.Token)
	case TokenInBearer:
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}
	return req, nil
}

func ff(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
