package sytex_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/sytex"
	"github.com/fieldbridge/fieldbridge/connectors/sytex/sytextest"
)

func newPair(t *testing.T, fo sytextest.Options, edit func(*sytex.Options)) (*sytextest.Server, *sytex.Client) {
	t.Helper()
	srv := sytextest.New(fo)
	t.Cleanup(srv.Close)
	o := sytex.Options{BaseURL: srv.URL(), Token: srv.Token(), Organization: srv.Organization(), RateLimit: 1000, RateBurst: 100}
	o.RetryBase, o.RetryMax = time.Millisecond, 50*time.Millisecond
	if edit != nil {
		edit(&o)
	}
	c, err := sytex.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func el(code string) sytex.NetworkElement {
	return sytex.NetworkElement{Code: code, Name: code, NEType: 12,
		Coordinates: []sytex.Coordinate{{Name: "Coordinates", Latitude: -23.5505, Longitude: -46.6333}}}
}

func TestAuth(t *testing.T) {
	_, c := newPair(t, sytextest.Options{}, func(o *sytex.Options) { o.Token = "nope-token" })
	_, err := c.FindByCode(context.Background(), "X")
	if !errors.Is(err, sytex.ErrUnauthorized) || strings.Contains(err.Error(), "nope-token") {
		t.Fatalf("err = %v", err)
	}
	_, c2 := newPair(t, sytextest.Options{Organization: "7"}, func(o *sytex.Options) { o.Organization = "8" })
	if err := c2.Ping(context.Background()); !errors.Is(err, sytex.ErrForbidden) {
		t.Fatalf("wrong organization: %v", err)
	}
	_, c3 := newPair(t, sytextest.Options{Organization: "7"}, func(o *sytex.Options) { o.Organization = "7" })
	if err := c3.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSearchPagingAndExactMatch(t *testing.T) {
	srv, c := newPair(t, sytextest.Options{}, func(o *sytex.Options) { o.PageSize = 50 })
	for i := range 120 {
		srv.Add(el(fmt.Sprintf("CTO-%03d", i)))
	}
	var n int
	if err := c.Search(context.Background(), sytex.Query{CodeIContains: "cto-"}, func(sytex.NetworkElement) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 120 || srv.Calls("GET") != 3 {
		t.Fatalf("got %d elements in %d pages, want 120 in 3", n, srv.Calls("GET"))
	}

	srv.Add(el("cto-001")) // differs only by case
	srv.Add(el("CTO-0011"))
	for _, param := range []string{"code__icontains", "q"} {
		cl, err := sytex.New(sytex.Options{BaseURL: srv.URL(), Token: srv.Token(), Organization: "1", SearchParam: param, PageSize: 2, RateLimit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		got, err := cl.FindByCode(context.Background(), "CTO-001")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Code != "CTO-001" || got[0].ID == 0 || got[0].NEType != 12 || got[0].Coordinates[0].Latitude != -23.5505 {
			t.Fatalf("%s: FindByCode = %+v", param, got)
		}
	}
}

func TestCreateAndPatch(t *testing.T) {
	srv, c := newPair(t, sytextest.Options{}, nil)
	ctx := context.Background()
	ne, err := c.Create(ctx, el("CTO-1"))
	if err != nil {
		t.Fatal(err)
	}
	if ne.ID == 0 || ne.Code != "CTO-1" {
		t.Fatalf("created %+v", ne)
	}
	want := ne
	want.Name = "CTO-1 renamed"
	ch := sytex.Changes(ne, want)
	if len(ch) != 1 || ch["name"] != "CTO-1 renamed" {
		t.Fatalf("changes = %v", ch)
	}
	if _, err := c.Patch(ctx, ne.ID, ch); err != nil {
		t.Fatal(err)
	}
	got := srv.ByCode("CTO-1")
	if len(got) != 1 || got[0].Name != "CTO-1 renamed" || got[0].NEType != 12 || len(got[0].Coordinates) != 1 {
		t.Fatalf("after patch: %+v", got)
	}
	if _, err := c.Patch(ctx, 999999, ch); !errors.Is(err, sytex.ErrNotFound) {
		t.Fatalf("patch of a missing element: %v", err)
	}
	want.Coordinates = []sytex.Coordinate{{Name: "Coordinates", Latitude: -23.5, Longitude: -46.6}}
	if ch := sytex.Changes(got[0], want); len(ch) != 1 || ch["networkelementcoordinates_set"] == nil {
		t.Fatalf("coordinate change = %v", ch)
	}
	if ch := sytex.Changes(got[0], got[0]); len(ch) != 0 {
		t.Fatalf("no change = %v", ch)
	}
}

func TestValidationMessages(t *testing.T) {
	srv, c := newPair(t, sytextest.Options{NETypes: []int64{12}}, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		ne   sytex.NetworkElement
		want string
	}{
		{"missing ne_type", sytex.NetworkElement{Code: "A"}, "ne_type: This field is required."},
		{"unknown ne_type", sytex.NetworkElement{Code: "A", NEType: 99}, `ne_type: Invalid pk "99" - object does not exist.`},
		{"blank code", sytex.NetworkElement{NEType: 12}, "code: This field may not be blank."},
		{"bad latitude", sytex.NetworkElement{Code: "B", NEType: 12, Coordinates: []sytex.Coordinate{{Name: "c", Latitude: 123, Longitude: 1}}},
			"networkelementcoordinates_set[0].latitude: Ensure this value is less than or equal to 90."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Create(ctx, tt.ne)
			var ae *sytex.APIError
			if !errors.Is(err, sytex.ErrInvalid) || !errors.As(err, &ae) {
				t.Fatalf("err = %v, want a 400", err)
			}
			if !strings.Contains(ae.Message, tt.want) {
				t.Fatalf("message %q lacks %q", ae.Message, tt.want)
			}
		})
	}
	srv.RejectCode("CTO-9", "name", "Nome inválido para este tipo.")
	_, err := c.Create(ctx, el("CTO-9"))
	if err == nil || !strings.Contains(err.Error(), "name: Nome inválido para este tipo.") || !strings.Contains(err.Error(), "CTO-9") {
		t.Fatalf("rejected code: %v", err)
	}
	if srv.Len() != 0 {
		t.Fatalf("elements stored after 400s: %d", srv.Len())
	}
	if srv.Calls("POST") != 5 {
		t.Errorf("400s were retried: %d POSTs", srv.Calls("POST"))
	}
}

func TestCreateNeverDuplicates(t *testing.T) {
	tests := []struct {
		name              string
		inject            func(*sytextest.Server)
		wantPOST, wantGET int
	}{
		{"answer lost after applying", func(s *sytextest.Server) { s.DropAfterNext(1) }, 1, 1},
		{"connection dropped before applying", func(s *sytextest.Server) { s.DropNext(1) }, 2, 1},
		{"500 without applying", func(s *sytextest.Server) { s.FailNext(1, 500) }, 2, 1},
		{"429 is retried without a search", func(s *sytextest.Server) { s.SetRetryAfter("0"); s.FailNext(2, 429) }, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newPair(t, sytextest.Options{}, nil)
			tt.inject(srv)
			ne, err := c.Create(context.Background(), el("CTO-7"))
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.ByCode("CTO-7"); len(got) != 1 || got[0].ID != ne.ID {
				t.Fatalf("stored %+v, returned %+v", got, ne)
			}
			if srv.Calls("POST") != tt.wantPOST || srv.Calls("GET") != tt.wantGET {
				t.Errorf("POST=%d GET=%d, want %d/%d", srv.Calls("POST"), srv.Calls("GET"), tt.wantPOST, tt.wantGET)
			}
		})
	}
}

func TestRetriesOnGet(t *testing.T) {
	srv, c := newPair(t, sytextest.Options{}, func(o *sytex.Options) { o.MaxRetries = 3 })
	srv.Add(el("X-1"))
	srv.FailNext(2, 503)
	got, err := c.FindByCode(context.Background(), "X-1")
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	srv.DropNext(1)
	if _, err := c.Patch(context.Background(), got[0].ID, map[string]any{"name": "y"}); err != nil {
		t.Fatalf("patch after a dropped connection: %v", err)
	}
	srv.FailNext(10, 502)
	_, err = c.FindByCode(context.Background(), "X-1")
	var ae *sytex.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || !strings.Contains(err.Error(), `searching code "X-1"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	srv, c := newPair(t, sytextest.Options{}, func(o *sytex.Options) { o.RateLimit = 20; o.RateBurst = 1 })
	start := time.Now()
	for range 11 {
		if err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Fatalf("11 calls at 20/s burst 1 took %v, want >= 500ms", d)
	}
	if srv.Calls("GET") != 11 {
		t.Fatal(srv.Calls("GET"))
	}
}

func TestOptionsCheck(t *testing.T) {
	_, err := sytex.New(sytex.Options{BaseURL: "app.sytex.io", Organization: "abc", SearchParam: "name"})
	for _, w := range []string{"base_url", "token: missing", "organization: \"abc\" is not a number", "search_param"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%v lacks %q", err, w)
		}
	}
	c, err := sytex.New(sytex.Options{BaseURL: "https://app.sytex.io", Token: "t", Organization: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Options(); o.RateLimit != sytex.DefaultRateLimit || o.RateBurst != sytex.DefaultRateBurst || o.PageSize != 50 {
		t.Errorf("defaults %+v", o)
	}
}
