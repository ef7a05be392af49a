package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/fieldbridge/fieldbridge/bridge/web"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
	"github.com/fieldbridge/fieldbridge/samples"
)

// demoImportPage plays a clerk on the import page, over HTTP: she signs
// in, drops the sample sheet with errors, reads the problems on the
// preview, leaves the bad rows out, confirms, and follows the send until
// the report is ready.
var demoImportPage = demoStep{
	Name: "The clerk's import page (/import/): drop, check, leave out, send, report",
	Run:  runDemoImportPage,
}

const demoImportConfig = `language = "pt-BR"
data_dir = "data"

[http]
listen = "off"

[[user]]
name = "maria"
role = "clerk"
inboxes = ["planilhas/entrada"]
password_hash = %q

[connections.officetrack]
type = "officetrack"
url = %q
user_name = "bridge"
password = "s3cret"

[[job]]
name = "planilhas"
kind = "sheet-officetrack"
officetrack = "officetrack"
mappings = "mappings"

[[job.inbox]]
path = "entrada"
mapping = "tarefas"
`

const demoClerkPassword = "senha-de-demonstracao"

func runDemoImportPage(ctx context.Context, d *demo) error {
	fake := officetracktest.NewServer(officetracktest.Options{Latency: 20 * time.Millisecond})
	defer fake.Close()
	for _, dir := range []string{"mappings", "entrada", "data"} {
		if err := os.MkdirAll(filepath.Join(d.Dir, dir), 0o755); err != nil {
			return err
		}
	}
	if err := copyEmbedded("mappings", filepath.Join(d.Dir, "mappings")); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(demoClerkPassword), bcrypt.MinCost)
	if err != nil {
		return err
	}
	cfg, err := d.Config(fmt.Sprintf(demoImportConfig, hash, fake.URL))
	if err != nil {
		return err
	}
	e, base, stop, err := d.Serve(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	c := web.NewClient(base)

	d.Printf("the bridge's pages at %s/import/ (user maria)", base)
	if code, _, err := c.Login("maria", demoClerkPassword); err != nil || code != http.StatusOK {
		return fmt.Errorf("sign-in: %d %v", code, err)
	}
	sheet, err := samples.FS.ReadFile("sheets/tarefas-com-erros.xlsx")
	if err != nil {
		return err
	}
	code, page, preview, err := c.Upload("/import/planilhas/entrada/upload", "tarefas-com-erros.xlsx", sheet)
	if err := pageOK(code, preview, err); err != nil {
		return err
	}
	d.Printf("dropped tarefas-com-erros.xlsx: %s", textOf(page, `id="bad-count">`))
	bad := badRows(page)
	for _, why := range problemTexts(page, 3) {
		d.Printf("  on its cell: %s", why)
	}
	if fake.TaskCount() != 0 {
		return fmt.Errorf("rows were sent before the clerk confirmed")
	}
	for _, row := range bad {
		code, _, at, err := c.Post(preview+"exclude", url.Values{"row": {row}, "excluded": {"1"}}, true)
		if err := pageOK(code, at, err); err != nil {
			return err
		}
	}
	d.Printf("left out rows %s; confirming", strings.Join(bad, ", "))
	code, _, watch, err := c.Post(preview+"send", url.Values{}, true)
	if err := pageOK(code, watch, err); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, page, err := c.Get(watch)
		if err := pageOK(code, watch, err); err != nil {
			return err
		}
		if strings.Contains(page, `data-final="1"`) {
			d.Printf("sent: %s", textOf(page, `id="file-message">`))
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the sheet was not sent in time")
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.Printf("OfficeTrack now has %d tasks; the report is at %sreport, and My files lists the sheet", fake.TaskCount(), watch)
	return nil
}

// pageOK turns a page that did not answer 200 into an error.
func pageOK(code int, path string, err error) error {
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("%s: %s", path, http.StatusText(code))
	}
	return err
}

var (
	demoBadRow = regexp.MustCompile(`<tr id="row-(\d+)"[^>]*>([\s\S]*?)</tr>`)
	demoWhy    = regexp.MustCompile(`<span class="why">([^<]+)</span>`)
	demoTags   = regexp.MustCompile(`<[^>]+>`)
)

// badRows are the rows of a preview with a cell marked bad.
func badRows(page string) []string {
	var out []string
	for _, m := range demoBadRow.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[2], " bad\"") {
			out = append(out, m[1])
		}
	}
	return out
}

// problemTexts are the first n problems written on cells.
func problemTexts(page string, n int) []string {
	var out []string
	for _, m := range demoWhy.FindAllStringSubmatch(page, n) {
		out = append(out, htmlText(m[1]))
	}
	return out
}

// textOf is the text of the element that starts right after marker.
func textOf(page, marker string) string {
	i := strings.Index(page, marker)
	if i < 0 {
		return ""
	}
	rest := page[i+len(marker):]
	if j := strings.Index(rest, "</"); j >= 0 {
		rest = rest[:j]
	}
	return htmlText(rest)
}

func htmlText(s string) string {
	s = demoTags.ReplaceAllString(s, "")
	return strings.TrimSpace(strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s))
}
