package sytex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fieldbridge/fieldbridge/connectors/internal/httpapi"
)

const nePath = "/api/networkelement/"

// Coordinate is one entry of a network element's coordinates.
type Coordinate struct {
	ID        int64   `json:"id,omitempty"`
	Name      string  `json:"name"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// UnmarshalJSON accepts numbers or DRF decimal strings.
func (c *Coordinate) UnmarshalJSON(b []byte) error {
	var w struct {
		ID        flexNum `json:"id"`
		Name      string  `json:"name"`
		Latitude  flexNum `json:"latitude"`
		Longitude flexNum `json:"longitude"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = Coordinate{ID: int64(w.ID), Name: w.Name, Latitude: float64(w.Latitude), Longitude: float64(w.Longitude)}
	return nil
}

// NetworkElement is a Sytex network element (EdR).
type NetworkElement struct {
	ID          int64        `json:"id,omitempty"`
	Code        string       `json:"code"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	NEType      int64        `json:"ne_type,omitempty"`
	Coordinates []Coordinate `json:"networkelementcoordinates_set,omitempty"`
}

// UnmarshalJSON decodes tolerantly (ne_type as id or object, decimals as
// strings, nulls).
func (n *NetworkElement) UnmarshalJSON(b []byte) error {
	var w struct {
		ID          flexNum         `json:"id"`
		Code        *string         `json:"code"`
		Name        *string         `json:"name"`
		Description *string         `json:"description"`
		NEType      json.RawMessage `json:"ne_type"`
		Coordinates []Coordinate    `json:"networkelementcoordinates_set"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*n = NetworkElement{ID: int64(w.ID), Coordinates: w.Coordinates}
	if w.Code != nil {
		n.Code = *w.Code
	}
	if w.Name != nil {
		n.Name = *w.Name
	}
	if w.Description != nil {
		n.Description = *w.Description
	}
	if len(w.NEType) > 0 && w.NEType[0] == '{' {
		var o struct {
			ID flexNum `json:"id"`
		}
		if err := json.Unmarshal(w.NEType, &o); err != nil {
			return fmt.Errorf("ne_type: %w", err)
		}
		n.NEType = int64(o.ID)
	} else if len(w.NEType) > 0 {
		var f flexNum
		if err := json.Unmarshal(w.NEType, &f); err != nil {
			return fmt.Errorf("ne_type: %w", err)
		}
		n.NEType = int64(f)
	}
	return nil
}

// flexNum accepts a JSON number, a numeric string or null.
type flexNum float64

func (f *flexNum) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("not a number: %s", b)
	}
	*f = flexNum(v)
	return nil
}

// page is a DRF limit/offset answer.
type page struct {
	Count   int               `json:"count"`
	Next    *string           `json:"next"`
	Results []json.RawMessage `json:"results"`
}

// Query selects network elements for Search. Empty fields are not sent.
type Query struct {
	Q               string
	CodeIContains   string
	CodeIStartsWith string
	NEType          int64
	// Limit is the page size (default: the client's PageSize).
	Limit int
}

func (q Query) values(limit int) url.Values {
	if q.Limit > 0 {
		limit = q.Limit
	}
	v := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {"0"}}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.CodeIContains != "" {
		v.Set("code__icontains", q.CodeIContains)
	}
	if q.CodeIStartsWith != "" {
		v.Set("code__istartswith", q.CodeIStartsWith)
	}
	if q.NEType != 0 {
		v.Set("ne_type", strconv.FormatInt(q.NEType, 10))
	}
	return v
}

// maxPages guards against a `next` chain that never ends.
const maxPages = 100_000

// Search lists the network elements matching q, following `next` links,
// and calls fn for each. fn's error stops the walk and is returned.
func (c *Client) Search(ctx context.Context, q Query, fn func(NetworkElement) error) error {
	r := request{op: "GET " + nePath, method: http.MethodGet, path: nePath, query: q.values(c.o.PageSize)}
	for n := 1; n <= maxPages; n++ {
		var p page
		if err := c.do(ctx, r, &p); err != nil {
			return err
		}
		for _, raw := range p.Results {
			var ne NetworkElement
			if err := json.Unmarshal(raw, &ne); err != nil {
				return fmt.Errorf("sytex: %s: a result is not a network element: %w", r.op, err)
			}
			if err := fn(ne); err != nil {
				return err
			}
		}
		if p.Next == nil || *p.Next == "" || len(p.Results) == 0 {
			return nil
		}
		next, err := c.sameOrigin(*p.Next)
		if err != nil {
			return fmt.Errorf("sytex: %s: %w", r.op, err)
		}
		r = request{op: fmt.Sprintf("GET %s page %d", nePath, n+1), method: http.MethodGet, rawURL: next}
	}
	return fmt.Errorf("sytex: GET %s: more than %d pages; giving up", nePath, maxPages)
}

// sameOrigin rewrites a `next` link onto the configured base, so that the
// token is never sent to another host (DRF builds links from the request's
// Host, which a proxy may change).
func (c *Client) sameOrigin(next string) (string, error) {
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("bad next link %q: %w", next, err)
	}
	if !strings.HasPrefix(u.Path, c.base.Path+"/api/") && !strings.HasPrefix(u.Path, "/api/") {
		return "", fmt.Errorf("next link %q leaves the API", next)
	}
	out := *c.base
	out.Path = u.Path
	if !strings.HasPrefix(u.Path, c.base.Path) {
		out.Path = c.base.Path + u.Path
	}
	out.RawQuery = u.RawQuery
	return out.String(), nil
}

// FindByCode returns the network elements whose code is exactly code
// (case-sensitive), searching with the configured search parameter.
func (c *Client) FindByCode(ctx context.Context, code string) ([]NetworkElement, error) {
	q := Query{CodeIContains: code}
	if c.o.SearchParam == "q" {
		q = Query{Q: code}
	}
	var out []NetworkElement
	err := c.Search(ctx, q, func(ne NetworkElement) error {
		if ne.Code == code {
			out = append(out, ne)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("searching code %q: %w", code, err)
	}
	return out, nil
}

// Get returns one network element by id.
func (c *Client) Get(ctx context.Context, id int64) (NetworkElement, error) {
	var ne NetworkElement
	p := fmt.Sprintf("%s%d/", nePath, id)
	err := c.do(ctx, request{op: "GET " + p, method: http.MethodGet, path: p}, &ne)
	return ne, err
}

// Create stores a new network element and returns it with its id. It is
// safe against duplicates: when a POST's outcome is unknown (5xx, dropped
// connection, timeout) it searches the code and returns the element found
// (or fails with ErrConflict when several carry it) before posting again.
func (c *Client) Create(ctx context.Context, ne NetworkElement) (NetworkElement, error) {
	ne.ID = 0
	body, err := json.Marshal(ne)
	if err != nil {
		return NetworkElement{}, fmt.Errorf("sytex: encoding network element %q: %w", ne.Code, err)
	}
	op := fmt.Sprintf("POST %s (code %s)", nePath, ne.Code)
	for attempt := 0; ; attempt++ {
		var out NetworkElement
		err := c.do(ctx, request{op: op, method: http.MethodPost, path: nePath, body: body, noRetryUncertain: true}, &out)
		var ue *uncertainError
		if !errors.As(err, &ue) {
			if err == nil && out.ID == 0 {
				return out, fmt.Errorf("sytex: %s: answer holds no id", op)
			}
			return out, err
		}
		// did it land?
		found, ferr := c.FindByCode(ctx, ne.Code)
		if ferr != nil {
			return NetworkElement{}, fmt.Errorf("%w (and checking whether it was stored failed: %v)", ue.err, ferr)
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 0:
			if attempt >= c.o.MaxRetries {
				return NetworkElement{}, ue.err
			}
			c.log.Warn("sytex create failed and nothing was stored, retrying", "code", ne.Code, "err", ue.err)
		default:
			return NetworkElement{}, fmt.Errorf("sytex: %s: %w (%d elements)", op, ErrConflict, len(found))
		}
		// backoff before posting again
		if err := httpapi.Sleep(ctx, httpapi.Backoff(c.o.RetryBase, c.o.RetryMax, attempt)); err != nil {
			return NetworkElement{}, fmt.Errorf("sytex: %s: %w", op, err)
		}
	}
}

// Patch sends only fields (JSON field name → value) to element id and
// returns the stored element. PATCH is idempotent and retried.
func (c *Client) Patch(ctx context.Context, id int64, fields map[string]any) (NetworkElement, error) {
	body, err := json.Marshal(fields)
	if err != nil {
		return NetworkElement{}, fmt.Errorf("sytex: encoding patch of %d: %w", id, err)
	}
	p := fmt.Sprintf("%s%d/", nePath, id)
	var out NetworkElement
	err = c.do(ctx, request{op: "PATCH " + p, method: http.MethodPatch, path: p, body: body}, &out)
	return out, err
}

// Changes returns the fields of want that differ from have, as a PATCH
// body: name, description (only when want has one), ne_type and the
// coordinates (compared to 1e-7 degree, about 1 cm). Code is never changed.
func Changes(have, want NetworkElement) map[string]any {
	ch := map[string]any{}
	if want.Name != have.Name {
		ch["name"] = want.Name
	}
	if want.Description != "" && want.Description != have.Description {
		ch["description"] = want.Description
	}
	if want.NEType != 0 && want.NEType != have.NEType {
		ch["ne_type"] = want.NEType
	}
	if len(want.Coordinates) > 0 && !sameCoords(have.Coordinates, want.Coordinates) {
		ch["networkelementcoordinates_set"] = want.Coordinates
	}
	return ch
}

func sameCoords(a, b []Coordinate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i].Latitude-b[i].Latitude) > 1e-7 || math.Abs(a[i].Longitude-b[i].Longitude) > 1e-7 {
			return false
		}
	}
	return true
}
