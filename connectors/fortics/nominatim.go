package fortics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NominatimOptions configures a Nominatim-compatible geocoder client.
type NominatimOptions struct {
	// URL is the API's base URL, e.g. "https://nominatim.openstreetmap.org"
	// or a self-hosted instance; /search is appended.
	URL string
	// UserAgent identifies the bridge, as Nominatim's usage policy asks
	// (default "fieldbridge-viability/1").
	UserAgent string
	// CountryCodes limits results to countries ("br", "br,ar"); optional.
	CountryCodes string
	// Language is sent as accept-language; optional.
	Language string
	// Timeout bounds one request (5 s) when ctx has no earlier deadline.
	Timeout time.Duration
	// HTTPClient is the client used (a new one by default).
	HTTPClient *http.Client
}

// Nominatim geocodes addresses through GET /search?format=json&q=..&limit=1.
type Nominatim struct {
	o    NominatimOptions
	base *url.URL
}

// NewNominatim checks the options and builds the client. It does no I/O.
func NewNominatim(o NominatimOptions) (*Nominatim, error) {
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("geocoder_url: %q is not an http(s) URL", o.URL)
	}
	if o.UserAgent == "" {
		o.UserAgent = "fieldbridge-viability/1"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	return &Nominatim{o: o, base: u}, nil
}

// Geocode returns the first match's coordinates, or an error wrapping
// ErrAddressNotFound.
func (n *Nominatim) Geocode(ctx context.Context, address string) (float64, float64, error) {
	ctx, cancel := context.WithTimeout(ctx, n.o.Timeout)
	defer cancel()
	q := url.Values{"format": {"json"}, "q": {address}, "limit": {"1"}}
	if n.o.CountryCodes != "" {
		q.Set("countrycodes", n.o.CountryCodes)
	}
	if n.o.Language != "" {
		q.Set("accept-language", n.o.Language)
	}
	u := *n.base
	u.Path += "/search"
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("User-Agent", n.o.UserAgent)
	req.Header.Set("Accept", "application/json")
	resp, err := n.o.HTTPClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("geocoder: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, 0, fmt.Errorf("geocoder: reading answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("geocoder: HTTP %d", resp.StatusCode)
	}
	var places []struct {
		Lat json.RawMessage `json:"lat"`
		Lon json.RawMessage `json:"lon"`
	}
	if err := json.Unmarshal(body, &places); err != nil {
		return 0, 0, fmt.Errorf("geocoder: answer is not a JSON list: %w", err)
	}
	if len(places) == 0 {
		return 0, 0, fmt.Errorf("geocoder: %w", ErrAddressNotFound)
	}
	lat, err1 := rawNumber(places[0].Lat)
	lng, err2 := rawNumber(places[0].Lon)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("geocoder: bad coordinates in answer: %w", err)
	}
	return lat, lng, nil
}

// rawNumber reads a JSON number or a string holding one (Nominatim sends
// strings).
func rawNumber(b json.RawMessage) (float64, error) {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	return strconv.ParseFloat(s, 64)
}
