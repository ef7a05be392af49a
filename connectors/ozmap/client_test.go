package ozmap_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
)

func newPair(t *testing.T, fo ozmaptest.Options, edit func(*ozmap.Options)) (*ozmaptest.Server, *ozmap.Client) {
	t.Helper()
	srv := ozmaptest.New(fo)
	t.Cleanup(srv.Close)
	o := ozmap.Options{BaseURL: srv.URL(), Key: srv.Key()}
	o.RetryBase, o.RetryMax, o.Timeout = time.Millisecond, 50*time.Millisecond, 5*time.Second
	if edit != nil {
		edit(&o)
	}
	c, err := ozmap.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func collect(t *testing.T, c *ozmap.Client, q ozmap.BoxQuery) ([]ozmap.Box, error) {
	t.Helper()
	var out []ozmap.Box
	err := c.Boxes(context.Background(), q, func(b ozmap.Box) error { out = append(out, b); return nil })
	return out, err
}

func TestBoxesPagingAndFilters(t *testing.T) {
	clock := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	srv, c := newPair(t, ozmaptest.Options{Now: func() time.Time { return clock }}, func(o *ozmap.Options) { o.PageSize = 100 })
	pA := srv.AddProject(ozmap.Project{Name: "A"})
	pB := srv.AddProject(ozmap.Project{Name: "B"})
	pC := srv.AddProject(ozmap.Project{Name: "C"})
	var ids []string
	for i := range 250 {
		p := []string{pA.ID, pB.ID, pC.ID}[i%3]
		b := srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: fmt.Sprintf("CTO-%04d", i), Project: p, Implanted: i%10 != 0,
			Lat: -23.5 + float64(i)/1e4, Lng: -46.6}, OmitLatLng: i == 7})
		ids = append(ids, b.ID)
		clock = clock.Add(time.Second)
	}

	all, err := collect(t, c, ozmap.BoxQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 250 {
		t.Fatalf("got %d boxes, want 250", len(all))
	}
	if got := srv.Calls("/boxes"); got != 3 {
		t.Errorf("pages fetched = %d, want 3", got)
	}
	for i, b := range all {
		if b.ID != ids[i] {
			t.Fatalf("box %d: id %s, want %s (createdAt order)", i, b.ID, ids[i])
		}
	}
	if b := all[7]; b.Lat != -23.5+7.0/1e4 || b.Lng != -46.6 {
		t.Errorf("lat/lng not derived from coords: %v %v", b.Lat, b.Lng)
	}
	if all[3].UpdatedAt.IsZero() || all[3].Name != "CTO-0003" {
		t.Errorf("box fields not decoded: %+v", all[3])
	}

	tests := []struct {
		name string
		q    ozmap.BoxQuery
		want int
	}{
		{"updatedSince", ozmap.BoxQuery{UpdatedSince: time.Date(2026, 11, 1, 12, 3, 20, 0, time.UTC)}, 50},
		{"one project", ozmap.BoxQuery{Projects: []string{pB.ID}}, 83},
		{"two projects", ozmap.BoxQuery{Projects: []string{pA.ID, pC.ID}}, 167},
		{"implanted", ozmap.BoxQuery{Implanted: new(true)}, 225},
		{"all filters", ozmap.BoxQuery{Projects: []string{pA.ID}, Implanted: new(true), UpdatedSince: time.Date(2026, 11, 1, 12, 3, 20, 0, time.UTC)}, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, c, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("got %d boxes, want %d", len(got), tt.want)
			}
		})
	}
}

func TestBoxesSeesUpdates(t *testing.T) {
	clock := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	srv, c := newPair(t, ozmaptest.Options{Now: func() time.Time { return clock }}, nil)
	var ids []string
	for i := range 20 {
		ids = append(ids, srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: fmt.Sprint("B", i)}}).ID)
	}
	clock = clock.Add(time.Hour)
	srv.UpdateBox(ids[4], func(b *ozmaptest.Box) { b.Name = "renamed" })
	got, err := collect(t, c, ozmap.BoxQuery{UpdatedSince: clock.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != ids[4] || got[0].Name != "renamed" || !got[0].UpdatedAt.Equal(clock) {
		t.Fatalf("got %+v", got)
	}
	srv.DeleteBox(ids[0])
	all, _ := collect(t, c, ozmap.BoxQuery{})
	if len(all) != 19 {
		t.Fatalf("after delete: %d boxes", len(all))
	}
}

func TestUnauthorized(t *testing.T) {
	srv, c := newPair(t, ozmaptest.Options{}, func(o *ozmap.Options) { o.Key = "wrong-secret-key" })
	_, err := collect(t, c, ozmap.BoxQuery{})
	if !errors.Is(err, ozmap.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	var ae *ozmap.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(ae.Op, "/boxes") {
		t.Fatalf("err = %#v, want APIError 401 naming the call", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-key") {
		t.Fatalf("error leaks the key: %v", err)
	}
	if n := srv.Calls("/boxes"); n != 1 {
		t.Errorf("401 retried: %d calls", n)
	}
}

func TestLoginFallbackAndRelogin(t *testing.T) {
	srv, c := newPair(t, ozmaptest.Options{Login: "bridge", Password: "s3cret"}, func(o *ozmap.Options) {
		o.Key, o.Login, o.Password = "", "bridge", "s3cret"
	})
	srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "X"}})
	if got, err := collect(t, c, ozmap.BoxQuery{}); err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := srv.Calls("/users/login"); n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}
	srv.RevokeTokens()
	if _, err := c.Projects(context.Background()); err != nil {
		t.Fatalf("after revoke: %v", err)
	}
	if n := srv.Calls("/users/login"); n != 2 {
		t.Fatalf("logins = %d, want 2 (one re-login)", n)
	}

	// a key that is wrong with login set: one re-login, then the call works
	srv2, c2 := newPair(t, ozmaptest.Options{Login: "u", Password: "p"}, func(o *ozmap.Options) {
		o.Key, o.Login, o.Password = "stale", "u", "p"
	})
	if _, err := c2.Projects(context.Background()); err != nil {
		t.Fatalf("stale key + login: %v", err)
	}
	if srv2.Calls("/users/login") != 1 || srv2.Calls("/projects") != 2 {
		t.Fatalf("calls login=%d projects=%d", srv2.Calls("/users/login"), srv2.Calls("/projects"))
	}

	// wrong password: ErrUnauthorized from the login
	_, c3 := newPair(t, ozmaptest.Options{Login: "u", Password: "p"}, func(o *ozmap.Options) {
		o.Key, o.Login, o.Password = "", "u", "bad"
	})
	if _, err := c3.Projects(context.Background()); !errors.Is(err, ozmap.ErrUnauthorized) || strings.Contains(err.Error(), "bad") {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		inject    func(*ozmaptest.Server)
		retries   int
		wantErr   bool
		wantCalls int
	}{
		{"500 twice", func(s *ozmaptest.Server) { s.FailNext(2, 500) }, 4, false, 3},
		{"429 with Retry-After 0", func(s *ozmaptest.Server) { s.SetRetryAfter("0"); s.FailNext(3, 429) }, 4, false, 4},
		{"dropped connection", func(s *ozmaptest.Server) { s.DropNext(2) }, 4, false, 3},
		{"503 beyond retries", func(s *ozmaptest.Server) { s.FailNext(10, 503) }, 2, true, 3},
		{"400 is permanent", func(s *ozmaptest.Server) { s.FailNext(1, 400) }, 4, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t, ozmaptest.Options{}, func(o *ozmap.Options) { o.MaxRetries = tt.retries })
			srv.AddProject(ozmap.Project{Name: "P"})
			tt.inject(srv)
			ps, err := c.Projects(context.Background())
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && len(ps) != 1 {
				t.Fatalf("projects = %v", ps)
			}
			if err != nil && !strings.Contains(err.Error(), "GET /projects") {
				t.Errorf("error does not name the call: %v", err)
			}
			if n := srv.Calls("/projects"); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	srv, c := newPair(t, ozmaptest.Options{}, func(o *ozmap.Options) { o.RetryMax = 5 * time.Second })
	srv.SetRetryAfter("1")
	srv.FailNext(1, 429)
	start := time.Now()
	if _, err := c.Projects(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %v, Retry-After asked 1s", d)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	srv, c := newPair(t, ozmaptest.Options{}, func(o *ozmap.Options) { o.Timeout = 50 * time.Millisecond; o.MaxRetries = -1 })
	srv.SetLatency(300 * time.Millisecond)
	_, err := c.Projects(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Fatalf("err = %v, want a timeout naming the limit", err)
	}

	srv2, c2 := newPair(t, ozmaptest.Options{}, func(o *ozmap.Options) { o.RetryBase = 10 * time.Second; o.RetryMax = 10 * time.Second })
	srv2.FailNext(5, 500)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c2.Projects(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want the context's deadline quickly", err, time.Since(start))
	}
}

func TestPolesNear(t *testing.T) {
	srv, c := newPair(t, ozmaptest.Options{}, nil)
	// about 11 m per 1e-4 degree of latitude
	srv.AddPole(ozmap.Pole{Name: "far", Lat: -23.5520, Lng: -46.6333, Usable: true})   // ~167 m
	srv.AddPole(ozmap.Pole{Name: "near", Lat: -23.5506, Lng: -46.6333, Usable: false}) // ~11 m
	srv.AddPole(ozmap.Pole{Name: "mid", Lat: -23.5510, Lng: -46.6333, Usable: true, PoleType: "concreto"})
	srv.AddPole(ozmap.Pole{Name: "out", Lat: -23.5600, Lng: -46.6333, Usable: true}) // ~1 km
	got, err := c.Poles(context.Background(), -23.5505, -46.6333, 200, 5)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "near,mid,far" {
		t.Fatalf("poles = %v, want near,mid,far", names)
	}
	if got[0].Usable || !got[1].Usable || got[1].PoleType != "concreto" || got[1].Lat != -23.5510 {
		t.Errorf("fields: %+v", got)
	}
	one, err := c.Poles(context.Background(), -23.5505, -46.6333, 200, 1)
	if err != nil || len(one) != 1 || one[0].Name != "near" {
		t.Fatalf("limit 1: %v %v", one, err)
	}
}

func TestFeasibility(t *testing.T) {
	srv, c := newPair(t, ozmaptest.Options{}, nil)
	srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "CTO far", Implanted: true, Lat: -27.5710, Lng: -48.52}, FreePorts: 2})
	srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "CTO near", Implanted: true, Lat: -27.5702, Lng: -48.52}, FreePorts: 6})
	srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "CTO full", Implanted: true, Lat: -27.5701, Lng: -48.52}, FreePorts: 0})
	srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "CTO projeto", Implanted: false, Lat: -27.5701, Lng: -48.52}, FreePorts: 8})
	srv.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "CTO outside", Implanted: true, Lat: -27.60, Lng: -48.52}, FreePorts: 8})
	f, err := c.Feasibility(context.Background(), -27.57, -48.52, 300)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Viable || len(f.Boxes) != 2 || f.Boxes[0].Name != "CTO near" || f.Boxes[1].Name != "CTO far" {
		t.Fatalf("feasibility = %+v", f)
	}
	if f.Boxes[0].Availability != 6 || f.Boxes[0].Distance < 20 || f.Boxes[0].Distance > 25 || !f.Boxes[0].Implanted {
		t.Errorf("box 0 = %+v", f.Boxes[0])
	}
	if len(f.Refused) != 2 {
		t.Errorf("refused = %d, want 2", len(f.Refused))
	}
	none, err := c.Feasibility(context.Background(), 0, 0, 100)
	if err != nil || none.Viable || len(none.Boxes) != 0 {
		t.Fatalf("far away: %+v %v", none, err)
	}
	if q := srv.LastQuery("/ftth-viability/radius"); !strings.Contains(q, "radius=100") {
		t.Errorf("query = %s", q)
	}
}

func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		o    ozmap.Options
		want []string
	}{
		{ozmap.Options{}, []string{"base_url: missing", "key: missing"}},
		{ozmap.Options{BaseURL: "ftp://x", Key: "k"}, []string{"base_url:"}},
		{ozmap.Options{BaseURL: "https://x", Login: "u"}, []string{"key: missing", "login/password"}},
		{ozmap.Options{BaseURL: "https://x", Key: "k", PageSize: 5000}, []string{"page_size"}},
	}
	for _, tt := range tests {
		_, err := ozmap.New(tt.o)
		if err == nil {
			t.Errorf("%+v: no error", tt.o)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v lacks %q", tt.o, err, w)
			}
		}
	}
	c, err := ozmap.New(ozmap.Options{BaseURL: "https://acme.ozmap.com.br:9994", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Options(); o.PageSize != 100 || o.Timeout != 30*time.Second || o.MaxRetries != 4 {
		t.Errorf("defaults = %+v", o)
	}
}
