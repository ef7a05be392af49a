package main

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

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
	c := &clerk{base: base}
	c.http.Jar, _ = cookiejar.New(nil)
	c.http.Timeout = 30 * time.Second

	d.Printf("the bridge's pages at %s/import/ (user maria)", base)
	if err := c.login("maria", demoClerkPassword); err != nil {
		return err
	}
	sheet, err := samples.FS.ReadFile("sheets/tarefas-com-erros.xlsx")
	if err != nil {
		return err
	}
	preview, page, err := c.upload("/import/planilhas/entrada/upload", "tarefas-com-erros.xlsx", sheet)
	if err != nil {
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
		if _, err := c.post(preview+"exclude", url.Values{"row": {row}, "excluded": {"1"}}); err != nil {
			return err
		}
	}
	d.Printf("left out rows %s; confirming", strings.Join(bad, ", "))
	watch, err := c.post(preview+"send", url.Values{})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		page, err := c.get(watch)
		if err != nil {
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

// clerk is a browser's part: cookies and the session's CSRF token.
type clerk struct {
	base string
	http http.Client
	csrf string
}

var (
	demoCSRF   = regexp.MustCompile(`data-csrf="([^"]+)"`)
	demoToken  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	demoBadRow = regexp.MustCompile(`<tr id="row-(\d+)"[^>]*>([\s\S]*?)</tr>`)
	demoWhy    = regexp.MustCompile(`<span class="why">([^<]+)</span>`)
	demoTags   = regexp.MustCompile(`<[^>]+>`)
)

func (c *clerk) read(resp *http.Response, err error) (string, error) {
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Request.URL.Path, resp.Status)
	}
	if m := demoCSRF.FindSubmatch(b); m != nil && len(m[1]) > 0 {
		c.csrf = string(m[1])
	}
	return string(b), nil
}

func (c *clerk) get(path string) (string, error) { return c.read(c.http.Get(c.base + path)) }

// post sends a form and returns the path it ended on.
func (c *clerk) post(path string, form url.Values) (string, error) {
	form.Set("csrf", c.csrf)
	resp, err := c.http.PostForm(c.base+path, form)
	if _, err := c.read(resp, err); err != nil {
		return "", err
	}
	return resp.Request.URL.Path, nil
}

func (c *clerk) login(user, password string) error {
	page, err := c.get("/login")
	if err != nil {
		return err
	}
	m := demoToken.FindStringSubmatch(page)
	if m == nil {
		return fmt.Errorf("no form on the login page")
	}
	resp, err := c.http.PostForm(c.base+"/login", url.Values{"user": {user}, "password": {password}, "csrf": {m[1]}})
	_, err = c.read(resp, err)
	return err
}

// upload posts a file as the page's drop form does and returns the
// preview's path and page.
func (c *clerk) upload(path, name string, data []byte) (string, string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("file", name)
		if err == nil {
			_, err = fw.Write(data)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, c.base+path+"?csrf="+url.QueryEscape(c.csrf), pr)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.http.Do(req)
	page, err := c.read(resp, err)
	if err != nil {
		return "", "", err
	}
	return resp.Request.URL.Path, page, nil
}

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
