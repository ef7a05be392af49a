package sheets

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/bridge/bridgetest"
)

// do runs one browser action, failing the test on its error.
func do[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	return bridgetest.Do(t, ctx, a)
}

// shoot saves a screenshot of the page as step and prints its path. The
// screenshots stay in the temp folder's fieldbridge-screenshots after the
// test, so that a person can look at them.
func shoot(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	png := do(t, ctx, chromedp.CaptureScreenshot())
	dir := filepath.Join(os.TempDir(), "fieldbridge-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "import-1366x768-"+step+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %s", step, p)
}

// count is the number of elements matching a CSS selector.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return do(t, ctx, chromedp.Evaluate[int]("document.querySelectorAll("+jsString(sel)+").length"))
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// waitFor polls a JavaScript condition until it holds.
func waitFor(t *testing.T, ctx context.Context, cond, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if do(t, ctx, chromedp.Evaluate[bool]("!!("+cond+")")) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestImportPageInChromium plays a clerk in a real headless Chromium:
// she signs in, drops a sheet with three bad rows, sees each problem on
// its cell, fixes two (one in the cell's own field, one by double-clicking
// the cell), leaves one out, confirms, watches the rows arrive at the
// fake OfficeTrack and downloads the report.
func TestImportPageInChromium(t *testing.T) {
	ctx := bridgetest.Chromium(t, bridgetest.Screen{Width: 1366, Height: 768}, 60*time.Second)
	s := newSite(t, siteOptions{latency: 250 * time.Millisecond, job: "concurrency = 1\n"})
	sheetPath := filepath.Join(t.TempDir(), "tarefas-dezembro.xlsx")
	if err := os.WriteFile(sheetPath, badSheet(t), 0o644); err != nil {
		t.Fatal(err)
	}

	// 1. Sign in.
	do(t, ctx, chromedp.Navigate(s.srv.URL+"/login?lang=pt-BR"))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#login")))
	shoot(t, ctx, "1-login")
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#user"), "maria"))
	do(t, ctx, chromedp.SendKeys(chromedp.CSS("#password"), clerkPassword+kb.Enter))

	// 2. The inbox (her only one): drop the sheet.
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("form.drop")))
	if h := do(t, ctx, chromedp.Text(chromedp.CSS("h1"))); h != "tarefas / entrada" {
		t.Fatalf("landed on %q", h)
	}
	shoot(t, ctx, "2-drop")
	do(t, ctx, chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{sheetPath}))

	// 3. The preview: each problem on its cell.
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#grid")))
	if n := count(t, ctx, "#grid td.bad"); n != 3 {
		t.Fatalf("%d cells marked bad, want 3", n)
	}
	for _, c := range []struct{ row, col, word string }{{"3", "0", "sete"}, {"4", "2", "31/02/2026"}, {"6", "0", "x7005"}} {
		sel := `#grid tr[data-row="` + c.row + `"] td.bad[data-col="` + c.col + `"]`
		if count(t, ctx, sel) != 1 {
			t.Fatalf("row %s column %s is not marked", c.row, c.col)
		}
		why := do(t, ctx, chromedp.Text(chromedp.CSS(sel+" .why")))
		if why == "" {
			t.Fatalf("row %s column %s has no explanation", c.row, c.col)
		}
		t.Logf("row %s: %s", c.row, why)
	}
	if !strings.Contains(do(t, ctx, chromedp.Text(chromedp.CSS("#bad-count"))), "3 com problemas") {
		t.Fatal("the summary does not count three rows with problems")
	}
	shoot(t, ctx, "3-preview")

	// 4. Fix row 3 in its field, row 4 by double-clicking the cell;
	// leave row 6 out.
	fix := `#grid tr[data-row="3"] td[data-col="0"] form.fix input[name=value]`
	do(t, ctx, chromedp.Clear(chromedp.CSS(fix)))
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(fix), "7002"+kb.Enter))
	waitFor(t, ctx, `document.querySelector('#grid tr[data-row="3"] td[data-col="0"]').classList.contains('fixed')`, "row 3 fixed")
	// A double click on a bad cell selects its field: typing replaces it.
	do(t, ctx, chromedp.DoubleClick(chromedp.CSS(`#grid tr[data-row="4"] td[data-col="2"] .v`)))
	waitFor(t, ctx, `document.activeElement === document.querySelector('#grid tr[data-row="4"] td[data-col="2"] form.fix input[name=value]')`, "row 4's field focused")
	do(t, ctx, chromedp.KeyEvent("28/02/2026 10:00"+kb.Enter))
	waitFor(t, ctx, `document.querySelector('#grid tr[data-row="4"] td[data-col="2"]').classList.contains('fixed')`, "row 4 fixed")
	// Any other cell opens in place on a double click.
	good := `#grid tr[data-row="5"] td[data-col="4"]`
	do(t, ctx, chromedp.DoubleClick(chromedp.CSS(good+" .v")))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(good+" input.edit")))
	do(t, ctx, chromedp.KeyEvent("Davi Lima"+kb.Enter)) // the text is selected: typing replaces it
	waitFor(t, ctx, `document.querySelector('`+good+`').classList.contains('fixed')`, "row 5 corrected")
	do(t, ctx, chromedp.Click(chromedp.CSS(`#grid tr[data-row="6"] form.exclude button`)))
	waitFor(t, ctx, `document.querySelector('#grid tr[data-row="6"]').classList.contains('excluded')`, "row 6 left out")
	if n := count(t, ctx, "#grid tr:not(.excluded) td.bad"); n != 0 {
		t.Fatalf("%d cells still bad", n)
	}
	if s.fake.TaskCount() != 0 {
		t.Fatal("rows were sent before the clerk confirmed")
	}
	shoot(t, ctx, "4-fixed")

	// 5. Confirm and watch the rows arrive.
	do(t, ctx, chromedp.Click(chromedp.CSS("#send")))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#watch")))
	waitFor(t, ctx, `document.querySelectorAll('#outcomes tr').length >= 1`, "the first row's outcome")
	if n := count(t, ctx, "#outcomes tr"); n < 4 {
		shoot(t, ctx, "5-sending")
	} else {
		t.Log("every row had arrived before the first look")
	}
	waitFor(t, ctx, `document.getElementById('watch').getAttribute('data-final') === '1'`, "the end of the send")
	if n := count(t, ctx, `#outcomes .state.sent`); n != 4 {
		t.Fatalf("%d rows shown as sent, want 4", n)
	}
	if st := do(t, ctx, chromedp.Text(chromedp.CSS("#file-state"))); st != "concluída" {
		t.Fatalf("state %q", st)
	}
	if c := do(t, ctx, chromedp.Text(chromedp.CSS("#file-counts"))); c != "4 enviadas" {
		t.Fatalf("counts %q, want \"4 enviadas\"", c)
	}
	if w := do(t, ctx, chromedp.Evaluate[string](`document.querySelector('#watch .progress > span').style.width`)); w != "100%" {
		t.Fatalf("progress bar at %q once done, want 100%%", w)
	}
	shoot(t, ctx, "6-done")
	if s.fake.TaskCount() != 4 {
		t.Fatalf("%d tasks at OfficeTrack, want 4", s.fake.TaskCount())
	}
	if task, ok := s.fake.Task(7004); !ok {
		t.Fatal("task 7004 missing")
	} else if c, _ := task.Get("CustomerName"); c != "Davi Lima" {
		t.Fatalf("task 7004's customer: %q (the correction did not arrive)", c)
	}
	if task, ok := s.fake.Task(7003); !ok {
		t.Fatal("task 7003 missing")
	} else if d, _ := task.Get("DueDateTime"); d != "202602281000" {
		t.Fatalf("task 7003's date: %q (the correction did not arrive)", d)
	}

	// 6. Download the report (fetched by the page's own session).
	b64 := do(t, ctx, chromedp.Evaluate[string](`fetch(document.getElementById('report').href).then(r => r.arrayBuffer()).then(b => {
		let s = ''; new Uint8Array(b).forEach(c => s += String.fromCharCode(c)); return btoa(s); })`, chromedp.EvalAwaitPromise))
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the report is not an XLSX: %v", err)
	}
	rows, _ := x.GetRows("Sheet1")
	statuses := map[string]string{}
	for _, r := range rows[1:] {
		if len(r) >= 6 {
			statuses[r[0]] = r[5]
		}
	}
	for _, n := range []string{"7001", "7002", "7003", "7004"} {
		if statuses[n] == "" {
			t.Errorf("the report has no status for task %s: %q", n, rows)
		}
	}
	if _, ok := statuses["x7005"]; ok {
		t.Errorf("the report lists the row left out: %q", rows)
	}

	// 7. My files lists the sheet, done, with its report.
	do(t, ctx, chromedp.Navigate(s.srv.URL+"/import/tarefas/entrada/"))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#files")))
	if txt := do(t, ctx, chromedp.Text(chromedp.CSS("#files"))); !strings.Contains(txt, "tarefas-dezembro.xlsx") || !strings.Contains(txt, "concluída") {
		t.Fatalf("My files: %q", txt)
	}
	shoot(t, ctx, "7-my-files")
}
