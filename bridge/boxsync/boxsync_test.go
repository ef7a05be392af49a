package boxsync_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/boxsync"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/ozmap/ozmaptest"
	"github.com/fieldbridge/fieldbridge/connectors/sytex"
	"github.com/fieldbridge/fieldbridge/connectors/sytex/sytextest"
	"github.com/fieldbridge/fieldbridge/transports"
	"github.com/fieldbridge/fieldbridge/transports/ftp"
	"github.com/fieldbridge/fieldbridge/transports/sftp"
	"github.com/fieldbridge/fieldbridge/transports/transporttest"
)

// clock is a manual clock shared by the OZmap fake and the job.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	typeCTO = "5e9b00000000000000000001"
	typeCE  = "5e9b00000000000000000002"
)

type harness struct {
	t     *testing.T
	clock *clock
	oz    *ozmaptest.Server
	sy    *sytextest.Server
	led   ledger.Ledger
	opts  boxsync.Options
	ozc   *ozmap.Client
	syc   *sytex.Client
	boxes []ozmaptest.Box
}

// newHarness starts both fakes and seeds n boxes; every tenth box is still
// in project (implanted: false).
func newHarness(t *testing.T, n int, edit func(*boxsync.Options)) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{t: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}}
	h.oz = ozmaptest.New(ozmaptest.Options{Now: h.clock.Now})
	t.Cleanup(h.oz.Close)
	h.sy = sytextest.New(sytextest.Options{NETypes: []int64{12, 13, 99}})
	t.Cleanup(h.sy.Close)
	proj := h.oz.AddProject(ozmap.Project{Name: "Centro", Identifier: "CEN"})
	for i := range n {
		typ := typeCTO
		if i%7 == 0 {
			typ = typeCE
		}
		b := h.oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: fmt.Sprintf("CTO-%05d", i), Project: proj.ID, BoxType: typ,
			Implanted: i%10 != 9, Lat: -23.55 + float64(i)*1e-5, Lng: -46.63 - float64(i)*1e-5}})
		h.boxes = append(h.boxes, b)
	}
	led, err := ledger.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	h.led = led
	h.opts = *boxsync.DefaultOptions()
	h.opts.OZmap, h.opts.Sytex = "oz", "sy"
	h.opts.NETypes = map[string]int64{typeCTO: 12, typeCE: 13}
	h.opts.DefaultNEType = 99
	if edit != nil {
		edit(&h.opts)
	}
	oo := ozmap.Options{BaseURL: h.oz.URL(), Key: h.oz.Key()}
	oo.RetryBase, oo.RetryMax = time.Millisecond, 20*time.Millisecond
	h.ozc, err = ozmap.New(oo)
	if err != nil {
		t.Fatal(err)
	}
	h.syc = h.sytexClient(h.sy.Token())
	return h
}

func (h *harness) sytexClient(token string) *sytex.Client {
	o := sytex.Options{BaseURL: h.sy.URL(), Token: token, Organization: h.sy.Organization(), RateLimit: 2000, RateBurst: 100}
	o.RetryBase, o.RetryMax, o.MaxRetries = time.Millisecond, 20*time.Millisecond, 3
	c, err := sytex.New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) job() *boxsync.Job {
	h.t.Helper()
	j, err := boxsync.NewJob(h.opts, boxsync.Deps{Name: "boxes", OZmap: h.ozc, Sytex: h.syc, Language: "en"})
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// run advances the clock an hour and runs the job once.
func (h *harness) run(ctx context.Context, full bool) (*bridge.RunContext, error) {
	h.t.Helper()
	h.clock.Add(time.Hour)
	r, err := h.led.BeginRun(ctx, "boxes", h.clock.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	rc := bridge.NewRunContext(r, h.led, nil, nil)
	rc.Now = h.clock.Now
	rc.Full = full
	h.oz.ResetCalls()
	h.sy.ResetCalls()
	return rc, h.job().Run(ctx, rc)
}

func (h *harness) mustRun(full bool) *bridge.RunContext {
	h.t.Helper()
	rc, err := h.run(context.Background(), full)
	if err != nil {
		h.t.Fatalf("run: %v", err)
	}
	return rc
}

func (h *harness) implanted() int {
	n := 0
	for _, b := range h.oz.Boxes() {
		if b.Implanted {
			n++
		}
	}
	return n
}

// checkCounts compares the run's counters with want (missing: 0).
func checkCounts(t *testing.T, rc *bridge.RunContext, want map[string]int64) {
	t.Helper()
	got := rc.Counts()
	for _, k := range []string{"read", "created", "updated", "unchanged", "failed", "conflicts", "skipped"} {
		if got[k] != want[k] {
			t.Errorf("count %s = %d, want %d (all: %v)", k, got[k], want[k], got)
		}
	}
}

// checkExactlyOnce asserts every implanted box is in Sytex exactly once,
// with the box's data.
func (h *harness) checkExactlyOnce() {
	h.t.Helper()
	if d := h.sy.Duplicates(); len(d) > 0 {
		h.t.Fatalf("duplicate codes in Sytex: %v", d)
	}
	for _, b := range h.oz.Boxes() {
		got := h.sy.ByCode(b.Name)
		if !b.Implanted {
			if len(got) != 0 {
				h.t.Fatalf("box in project %s was sent", b.Name)
			}
			continue
		}
		if len(got) != 1 {
			h.t.Fatalf("box %s is %d times in Sytex", b.Name, len(got))
		}
		e := got[0]
		wantType := int64(12)
		if b.BoxType == typeCE {
			wantType = 13
		}
		if e.NEType != wantType || len(e.Coordinates) != 1 || e.Coordinates[0].Latitude != round7(b.Lat) || e.Coordinates[0].Longitude != round7(b.Lng) {
			h.t.Fatalf("box %s in Sytex as %+v", b.Name, e)
		}
	}
}

func round7(f float64) float64 {
	v := f * 1e7
	if v < 0 {
		return float64(int64(v-0.5)) / 1e7
	}
	return float64(int64(v+0.5)) / 1e7
}

func TestIncrementalLifecycle(t *testing.T) {
	for _, tt := range []struct {
		name      string
		threshold int
		wantGETs  int // on the first run
	}{
		{"search each code", -1, 450},
		{"read Sytex at once", 1, 1},
	} {
		t.Run(tt.name, func(t *testing.T) { testLifecycle(t, tt.threshold, tt.wantGETs) })
	}
}

func testLifecycle(t *testing.T, threshold, wantGETs int) {
	h := newHarness(t, 500, func(o *boxsync.Options) { o.PrefetchThreshold = threshold })
	implanted := h.implanted() // 450

	// first run creates all
	rc := h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 500, "created": int64(implanted), "skipped": 50})
	if h.sy.Len() != implanted || h.sy.Calls("POST") != implanted || h.sy.Calls("GET") != wantGETs {
		t.Fatalf("Sytex has %d elements after %d POSTs and %d GETs, want %d, %d", h.sy.Len(), h.sy.Calls("POST"), h.sy.Calls("GET"), implanted, wantGETs)
	}
	h.checkExactlyOnce()

	// second run, nothing changed: nothing sent
	rc = h.mustRun(false)
	checkCounts(t, rc, map[string]int64{})
	if n := h.sy.TotalCalls(); n != 0 {
		t.Fatalf("second run made %d Sytex calls", n)
	}
	if n := h.oz.Calls("/boxes"); n != 1 {
		t.Fatalf("second run fetched %d OZmap pages", n)
	}

	// 1% of the boxes change: exactly those are sent, one PATCH each
	var changed []string
	for i := 3; i < 500 && len(changed) < 5; i += 97 {
		b := h.boxes[i]
		if !b.Implanted {
			continue
		}
		changed = append(changed, b.ID)
		h.oz.UpdateBox(b.ID, func(b *ozmaptest.Box) { b.Lat += 0.001 })
	}
	h.oz.UpdateBox(h.boxes[14].ID, func(b *ozmaptest.Box) { b.BoxType = typeCTO }) // CE → CTO: ne_type 13 → 12
	rc = h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 6, "updated": 6})
	if h.sy.Calls("PATCH") != 6 || h.sy.TotalCalls() != 6 {
		t.Fatalf("changed-boxes run: PATCH=%d total=%d, want 6/6", h.sy.Calls("PATCH"), h.sy.TotalCalls())
	}
	h.checkExactlyOnce()

	// deleted boxes stay in Sytex
	h.oz.DeleteBox(h.boxes[0].ID)
	h.oz.DeleteBox(h.boxes[1].ID)
	h.mustRun(false)
	if h.sy.Len() != implanted || len(h.sy.ByCode(h.boxes[0].Name)) != 1 {
		t.Fatalf("deleted boxes were removed from Sytex: %d elements", h.sy.Len())
	}
	if h.sy.Calls("DELETE") != 0 {
		t.Fatal("DELETE sent")
	}

	// a box leaves the project phase: created
	h.oz.UpdateBox(h.boxes[9].ID, func(b *ozmaptest.Box) { b.Implanted = true })
	rc = h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 1, "created": 1})

	// a forced full reconcile with nothing changed: one search per box, no writes
	rc = h.mustRun(true)
	if rc.Counts()["unchanged"] != int64(h.implanted()) || h.sy.Calls("POST")+h.sy.Calls("PATCH") != 0 {
		t.Fatalf("full run: %v, POST=%d PATCH=%d", rc.Counts(), h.sy.Calls("POST"), h.sy.Calls("PATCH"))
	}
}

func TestLostCursorSendsNothing(t *testing.T) {
	h := newHarness(t, 200, nil)
	h.mustRun(false)
	// a new mapping fingerprint (here: a changed default only used by no
	// box) lists every box again, and the hashes keep Sytex untouched
	h.opts.DefaultNEType = 12
	rc := h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 200, "unchanged": 180, "skipped": 20})
	if h.sy.TotalCalls() != 0 {
		t.Fatalf("%d Sytex calls", h.sy.TotalCalls())
	}
}

func TestAdoptsExistingElements(t *testing.T) {
	h := newHarness(t, 30, nil)
	// the old integration already sent some boxes; one differs, one has
	// a code differing only by case (not the same element)
	b0, b1, b2 := h.boxes[0], h.boxes[1], h.boxes[2]
	h.sy.Add(sytex.NetworkElement{Code: b0.Name, Name: b0.Name, NEType: 13, Coordinates: []sytex.Coordinate{{Name: "Coordinates", Latitude: round7(b0.Lat), Longitude: round7(b0.Lng)}}})
	h.sy.Add(sytex.NetworkElement{Code: b1.Name, Name: "old name", NEType: 12, Coordinates: []sytex.Coordinate{{Name: "Coordinates", Latitude: 1, Longitude: 2}}})
	h.sy.Add(sytex.NetworkElement{Code: strings.ToLower(b2.Name), Name: "other", NEType: 12})
	rc := h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 30, "created": 25, "updated": 1, "unchanged": 1, "skipped": 3})
	if h.sy.Len() != 28 {
		t.Fatalf("Sytex has %d elements, want 28", h.sy.Len())
	}
	h.checkExactlyOnce()
	if e := h.sy.ByCode(b1.Name)[0]; e.Name != b1.Name {
		t.Fatalf("existing element not updated: %+v", e)
	}
}

func TestRejectedBoxReported(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, 40, func(o *boxsync.Options) { o.ReportDir = dir })
	bad := h.boxes[5].Name
	const drf = "Ensure this field has no more than 10 characters."
	h.sy.RejectCode(bad, "name", drf)
	rc, err := h.run(context.Background(), false)
	if err != nil {
		t.Fatalf("a 400 failed the run: %v", err)
	}
	checkCounts(t, rc, map[string]int64{"read": 40, "created": 35, "failed": 1, "skipped": 4})
	ps := rc.Problems()
	if len(ps) != 1 || !strings.Contains(ps[0].Item, bad) || !strings.Contains(ps[0].Message, "name: "+drf) {
		t.Fatalf("problems = %+v", ps)
	}
	// the CSV report names it too
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	if len(files) != 1 {
		t.Fatalf("report files: %v", files)
	}
	rows := readCSV(t, files[0])
	if len(rows) != 37 || rows[0][3] != "action" {
		t.Fatalf("report has %d rows: %v", len(rows), rows[:2])
	}
	foundBad := false
	for _, r := range rows[1:] {
		if r[2] == bad {
			foundBad = r[3] == "failed" && strings.Contains(r[5], drf)
		}
	}
	if !foundBad {
		t.Fatal("report lacks the failed box with its message")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}

	// the next run tries it again although the box did not change
	rc = h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 1, "failed": 1})
	h.sy.RejectCode(bad, "", "")
	rc = h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 1, "created": 1})
	h.checkExactlyOnce()
	// and then leaves it alone
	rc = h.mustRun(false)
	checkCounts(t, rc, map[string]int64{})
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestConflictReported(t *testing.T) {
	h := newHarness(t, 20, nil)
	dup := h.boxes[3].Name
	h.sy.Add(sytex.NetworkElement{Code: dup, Name: dup, NEType: 12})
	h.sy.Add(sytex.NetworkElement{Code: dup, Name: dup + " copy", NEType: 12})
	rc := h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 20, "created": 17, "conflicts": 1, "skipped": 2})
	ps := rc.Problems()
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "2 network elements in Sytex have code") {
		t.Fatalf("problems = %+v", ps)
	}
	if len(h.sy.ByCode(dup)) != 2 {
		t.Fatal("conflicting elements touched")
	}
}

func TestUnauthorizedStopsTheRun(t *testing.T) {
	t.Run("sytex", func(t *testing.T) {
		h := newHarness(t, 300, func(o *boxsync.Options) { o.Concurrency = 2 })
		h.syc = h.sytexClient("expired-token")
		_, err := h.run(context.Background(), false)
		if !errors.Is(err, sytex.ErrUnauthorized) || !strings.Contains(err.Error(), `connection "sy"`) || strings.Contains(err.Error(), "expired-token") {
			t.Fatalf("err = %v", err)
		}
		if n := h.sy.TotalCalls(); n > 2 {
			t.Fatalf("%d calls after a 401 (concurrency 2)", n)
		}
		// nothing recorded as progress: the next run (fixed token) does all
		h.syc = h.sytexClient(h.sy.Token())
		rc := h.mustRun(false)
		if rc.Counts()["created"] != 270 {
			t.Fatalf("after fixing the token: %v", rc.Counts())
		}
	})
	t.Run("ozmap", func(t *testing.T) {
		h := newHarness(t, 10, nil)
		h.oz.SetKey("rotated")
		_, err := h.run(context.Background(), false)
		if !errors.Is(err, ozmap.ErrUnauthorized) || !strings.Contains(err.Error(), `connection "oz"`) {
			t.Fatalf("err = %v", err)
		}
		if h.sy.TotalCalls() != 0 {
			t.Fatal("Sytex called")
		}
	})
}

func TestSytexDownStopsTheRun(t *testing.T) {
	h := newHarness(t, 100, func(o *boxsync.Options) { o.MaxFailuresInARow = 5; o.Concurrency = 1 })
	h.sy.FailNext(1000, 503)
	rc, err := h.run(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "Sytex is not answering") {
		t.Fatalf("err = %v", err)
	}
	if rc.Counts()["failed"] > 5 {
		t.Fatalf("kept going: %v", rc.Counts())
	}
	h.sy.FailNext(0, 0)
	h.mustRun(false)
	h.checkExactlyOnce()
}

func TestKillInTheMiddle(t *testing.T) {
	t.Run("cancel", func(t *testing.T) {
		h := newHarness(t, 400, nil)
		h.sy.SetLatency(2 * time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for h.sy.Len() < 120 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := h.run(ctx, false)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if n := h.sy.Len(); n >= 360 || n < 120 {
			t.Fatalf("%d elements after the kill", n)
		}
		rc := h.mustRun(false)
		h.checkExactlyOnce()
		if c := rc.Counts(); c["created"]+c["unchanged"] != 360 {
			t.Fatalf("resume: %v", c)
		}
	})
	t.Run("crash between Sytex and the ledger", func(t *testing.T) {
		h := newHarness(t, 300, func(o *boxsync.Options) { o.Concurrency = 3 })
		mem := h.led
		h.led = &crashLedger{Ledger: mem, budget: 100}
		_, err := h.run(context.Background(), false)
		if !errors.Is(err, errCrash) && (err == nil || !strings.Contains(err.Error(), "simulated crash")) {
			t.Fatalf("err = %v", err)
		}
		// requests cancelled by the crash may still land in the fake
		time.Sleep(100 * time.Millisecond)
		sent := h.sy.Len()
		if sent <= 100 {
			t.Fatalf("the crash should leave boxes created in Sytex but not in the ledger: %d", sent)
		}
		h.led = mem // restart
		recorded := 0
		_ = mem.ItemsWithPrefix(context.Background(), "boxes", "", func(ledger.Item) error { recorded++; return nil })
		if recorded > 100 || recorded < 90 {
			t.Fatalf("%d items recorded before the crash", recorded)
		}
		rc := h.mustRun(false)
		h.checkExactlyOnce()
		c := rc.Counts()
		if c["created"] != int64(270-sent) || h.sy.Calls("POST") != 270-sent {
			t.Fatalf("resume created %d (POST %d), want %d: %v", c["created"], h.sy.Calls("POST"), 270-sent, c)
		}
		// the 100 recorded boxes need no call; the others are searched by
		// code, and the ones created just before the crash are found
		if c["unchanged"] != int64(sent) || h.sy.Calls("GET") != 270-recorded {
			t.Fatalf("unchanged %d (want %d), searches %d (want %d)", c["unchanged"], sent, h.sy.Calls("GET"), 270-recorded)
		}
	})
	t.Run("answers lost", func(t *testing.T) {
		h := newHarness(t, 50, nil)
		h.sy.DropAfterNext(10) // the first ten requests are applied, their answers lost
		h.mustRun(false)
		h.checkExactlyOnce()
	})
}

func TestProjectsAndTemplates(t *testing.T) {
	h := newHarness(t, 0, func(o *boxsync.Options) {
		o.Projects = []string{"Norte"}
		o.CodeTemplate = "{project_identifier}-{name}"
		o.DescriptionTemplate = "{address}"
	})
	n := h.oz.AddProject(ozmap.Project{Name: "Norte", Identifier: "NOR"})
	s := h.oz.AddProject(ozmap.Project{Name: "Sul", Identifier: "SUL"})
	h.oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "A1", Project: n.ID, Implanted: true, BoxType: typeCTO, Address: "Rua X, 100", Lat: -1, Lng: -2}})
	h.oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "B1", Project: s.ID, Implanted: true, BoxType: typeCTO, Lat: -1, Lng: -2}})
	h.oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: "  ", Project: n.ID, Implanted: true, BoxType: typeCTO}})
	rc := h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 2, "created": 1, "failed": 1})
	els := h.sy.Elements()
	if len(els) != 1 || els[0].Code != "NOR-A1" || els[0].Name != "A1" || els[0].Description != "Rua X, 100" {
		t.Fatalf("elements = %+v", els)
	}
	if q := h.oz.LastQuery("/boxes"); !strings.Contains(q, n.ID) || strings.Contains(q, s.ID) {
		t.Fatalf("project filter not sent: %s", q)
	}

	h.opts.Projects = []string{"Leste"}
	if _, err := h.run(context.Background(), false); err == nil || !strings.Contains(err.Error(), `"Leste" is not a project`) {
		t.Fatalf("unknown project: %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		edit func(*boxsync.Options)
		want string
	}{
		{func(o *boxsync.Options) { o.CodeTemplate = "{nome}" }, "code_template: unknown placeholder {nome}"},
		{func(o *boxsync.Options) { o.NameTemplate = "{name" }, "name_template"},
		{func(o *boxsync.Options) { o.DefaultNEType = 0; o.NETypes = nil }, "default_ne_type: missing"},
		{func(o *boxsync.Options) { o.Concurrency = 500 }, "concurrency"},
		{func(o *boxsync.Options) { o.NETypes = map[string]int64{"x": -1} }, "ne_types"},
	}
	for _, tt := range tests {
		o := *boxsync.DefaultOptions()
		o.DefaultNEType = 12
		tt.edit(&o)
		_, err := boxsync.NewJob(o, boxsync.Deps{Name: "b"})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}

func TestTwoBoxesOneCode(t *testing.T) {
	h := newHarness(t, 10, nil)
	p := h.boxes[0].Project
	// two boxes named alike in one run
	twin := h.oz.AddBox(ozmaptest.Box{Box: ozmap.Box{Name: h.boxes[2].Name, Project: p, Implanted: true, BoxType: typeCTO, Lat: 1, Lng: 1}})
	rc := h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 11, "created": 9, "conflicts": 1, "skipped": 1})
	if ps := rc.Problems(); len(ps) != 1 || !strings.Contains(ps[0].Item, twin.ID) || !strings.Contains(ps[0].Message, "another OZmap box (id "+h.boxes[2].ID) {
		t.Fatalf("problems = %+v", ps)
	}
	if e := h.sy.ByCode(h.boxes[2].Name); len(e) != 1 || e[0].Coordinates[0].Latitude == 1 {
		t.Fatalf("the twin overwrote the first box: %+v", e)
	}
	// a later rename onto an existing box's code
	h.oz.DeleteBox(twin.ID)
	h.oz.UpdateBox(h.boxes[4].ID, func(b *ozmaptest.Box) { b.Name = h.boxes[3].Name })
	rc = h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 1, "conflicts": 1}) // the deleted twin is not read again
	if ps := rc.Problems(); len(ps) != 1 || !strings.Contains(ps[0].Message, h.boxes[3].ID) {
		t.Fatalf("problems = %+v", ps)
	}
	if h.sy.Calls("PATCH")+h.sy.Calls("POST") != 0 {
		t.Fatal("the renamed box changed another box's element")
	}
}

// TestReportToFileServers writes the run's report to real FTP and SFTP
// servers (scripts/test-servers).
func TestReportToFileServers(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) (func(context.Context) (transports.Transport, error), string)
	}{
		{"ftp", func(t *testing.T) (func(context.Context) (transports.Transport, error), string) {
			o, srv := transporttest.FTP(t)
			return func(ctx context.Context) (transports.Transport, error) { return ftp.New(ctx, o) }, srv.Dir
		}},
		{"sftp", func(t *testing.T) (func(context.Context) (transports.Transport, error), string) {
			o, srv := transporttest.SFTP(t)
			return func(ctx context.Context) (transports.Transport, error) { return sftp.New(ctx, o) }, srv.Dir
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			open, dir := tt.open(t)
			h := newHarness(t, 30, func(o *boxsync.Options) { o.ReportTo = "files"; o.ReportDir = "sync/reports" })
			j, err := boxsync.NewJob(h.opts, boxsync.Deps{Name: "boxes", OZmap: h.ozc, Sytex: h.syc, OpenReportTo: open})
			if err != nil {
				t.Fatal(err)
			}
			r, _ := h.led.BeginRun(context.Background(), "boxes", h.clock.Now())
			rc := bridge.NewRunContext(r, h.led, nil, nil)
			rc.Now = h.clock.Now
			if err := j.Run(context.Background(), rc); err != nil {
				t.Fatal(err)
			}
			if ps := rc.Problems(); len(ps) != 0 {
				t.Fatalf("problems: %v", ps)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "sync", "reports", "boxsync-boxes-*.csv"))
			if len(files) != 1 {
				t.Fatalf("reports on the server: %v", files)
			}
			if rows := readCSV(t, files[0]); len(rows) != 28 {
				t.Fatalf("report has %d rows", len(rows))
			}
		})
	}
}

// TestFullRepairsSytex: edits and deletions made by hand in Sytex are not
// seen by incremental runs (they ask Sytex nothing for unchanged boxes);
// a full reconcile repairs them. A changed box whose element was deleted
// in Sytex is created again.
func TestFullRepairsSytex(t *testing.T) {
	h := newHarness(t, 20, nil)
	h.mustRun(false)
	edited := h.sy.ByCode(h.boxes[1].Name)[0]
	edited.Name = "edited by hand"
	h.sy.Add(edited) // same id: replaces
	gone := h.sy.ByCode(h.boxes[2].Name)[0]
	h.sy.Delete(gone.ID)
	goneToo := h.sy.ByCode(h.boxes[3].Name)[0]
	h.sy.Delete(goneToo.ID)

	h.oz.UpdateBox(h.boxes[3].ID, func(b *ozmaptest.Box) { b.Lng += 0.01 })
	rc := h.mustRun(false)
	checkCounts(t, rc, map[string]int64{"read": 1, "created": 1})
	if h.sy.Calls("PATCH") != 1 || h.sy.Calls("GET") != 1 || h.sy.Calls("POST") != 1 {
		t.Fatalf("PATCH (404) then search then create: %d/%d/%d", h.sy.Calls("PATCH"), h.sy.Calls("GET"), h.sy.Calls("POST"))
	}
	if h.sy.ByCode(h.boxes[1].Name)[0].Name != "edited by hand" || len(h.sy.ByCode(h.boxes[2].Name)) != 0 {
		t.Fatal("an incremental run touched unchanged boxes")
	}
	rc = h.mustRun(true)
	checkCounts(t, rc, map[string]int64{"read": 20, "created": 1, "updated": 1, "unchanged": 16, "skipped": 2})
	h.checkExactlyOnce()
	if h.sy.ByCode(h.boxes[1].Name)[0].Name != h.boxes[1].Name {
		t.Fatal("the hand edit was not repaired")
	}
}
