package sheets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// badSheet has three rows with problems: row 3 (TaskNumber not a
// number), row 4 (a date that does not exist) and row 6 (no date at all
// is fine, but the TaskNumber is not a number).
func badSheet(t testing.TB) []byte {
	return xlsxRows(t, [][]any{
		{7001, "Instalação", "23/11/2026 14:00", "T17", "Ana"},
		{"sete", "Reparo", "24/11/2026 09:00", "T18", "Bruno"},
		{7003, "Visita", "31/02/2026 10:00", "T17", "Carla"},
		{7004, "Troca", "25/11/2026 08:00", "T19", "Davi"},
		{"x7005", "Retirada", "26/11/2026 08:00", "T19", "Eva"},
	})
}

func TestImportPageFlowHTTP(t *testing.T) {
	s := newSite(t, siteOptions{})
	b := s.browser()
	if code, body := b.login("maria", clerkPassword); code != http.StatusOK {
		t.Fatalf("login: %d\n%s", code, body)
	}
	code, body, where := b.upload("entrada", "tarefas-nov.xlsx", badSheet(t))
	if code != http.StatusOK || !strings.Contains(where, "/d/") {
		t.Fatalf("upload: %d at %s\n%s", code, where, body)
	}
	for _, want := range []string{`data-row="3"`, `data-row="4"`, `data-row="6"`, "3 com problemas"} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if n := strings.Count(body, `class="cell editable bad"`); n != 3 {
		t.Errorf("%d cells marked bad, want 3", n)
	}
	if s.fake.TaskCount() != 0 {
		t.Fatal("something was sent before the clerk confirmed")
	}
	// Fix rows 3 and 4, leave 6 out.
	c, _, _ := b.post(where+"cell", url.Values{"row": {"3"}, "col": {"0"}, "value": {"7002"}}, true)
	if c != http.StatusOK {
		t.Fatalf("cell: %d", c)
	}
	b.post(where+"cell", url.Values{"row": {"4"}, "col": {"2"}, "value": {"28/02/2026 10:00"}}, true)
	b.post(where+"exclude", url.Values{"row": {"6"}, "excluded": {"1"}}, true)
	_, body = b.get(where)
	if !strings.Contains(body, "0 com problemas") {
		t.Fatalf("after the fixes the preview still has problems:\n%s", body)
	}
	code, body, watch := b.post(where+"send", url.Values{}, true)
	if code != http.StatusOK || !strings.Contains(watch, "/f/") {
		t.Fatalf("send: %d at %s\n%s", code, watch, body)
	}
	rec := s.waitFile(pathSHA(watch))
	if rec.State != "done" {
		t.Fatalf("state %s: %s", rec.State, rec.Message)
	}
	if s.fake.TaskCount() != 4 {
		t.Fatalf("%d tasks at OfficeTrack, want 4", s.fake.TaskCount())
	}
	if task, ok := s.fake.Task(7002); !ok {
		t.Fatal("the corrected row 3 did not arrive")
	} else if d, _ := task.Get("Description"); d != "Reparo" {
		t.Errorf("task 7002: %q", d)
	}
	if _, ok := s.fake.Task(7005); ok {
		t.Fatal("a row left out was sent")
	}
	// The report.
	resp, err := b.HTTP.Get(s.srv.URL + watch + "report")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), ".report.xlsx") {
		t.Fatalf("report: %d %s", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	x, err := excelize.OpenReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("Sheet1")
	if len(rows) < 5 || rows[2][0] != "7002" || !strings.EqualFold(rows[2][5], "ok") && rows[2][5] == "" {
		t.Fatalf("report rows: %q", rows)
	}
	// My files shows it with its report.
	_, body = b.get("/import/tarefas/entrada/")
	if !strings.Contains(body, "tarefas-nov.xlsx") || !strings.Contains(body, `class="report"`) {
		t.Fatalf("My files:\n%s", body)
	}
}

func TestImportPageSameFileAsFolder(t *testing.T) {
	s := newSite(t, siteOptions{minAge: "500ms"})
	b := s.browser()
	b.login("maria", clerkPassword)
	data := xlsxRows(t, goodRows(5, 9100))
	_, _, where := b.upload("entrada", "tarefas-a.xlsx", data)
	_, _, watch := b.post(where+"send", url.Values{}, true)
	sum := sha256.Sum256(data)
	if pathSHA(watch) != hex.EncodeToString(sum[:]) {
		t.Fatalf("the page placed other bytes than the upload: %s", watch)
	}
	s.waitFile(pathSHA(watch))
	// The same bytes dropped in the folder: a duplicate, nothing sent again.
	if err := os.WriteFile(filepath.Join(s.inbox, "tarefas-a-copia.xlsx"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(s.inbox, "tarefas-a-copia.xlsx"), old, old)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(s.inbox, "done", "tarefas-a-copia.xlsx")); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	recs, _ := s.l.Files(context.Background(), ledger.FileFilter{Job: "tarefas"})
	dup := false
	for _, r := range recs {
		if r.Name == "tarefas-a-copia.xlsx" && r.State == "duplicate" {
			dup = true
		}
	}
	if !dup {
		t.Fatalf("the folder copy was not a duplicate: %+v", recs)
	}
	if n := s.fake.Calls("CreateOrUpdateTask"); n != 5 {
		t.Fatalf("%d calls, want 5", n)
	}
	// And the page tells the clerk before she sends it again.
	_, body, _ := b.upload("entrada", "tarefas-a.xlsx", data)
	if !strings.Contains(body, `id="already"`) {
		t.Fatal("the preview of a sheet already sent does not say so")
	}
}

func TestImportPageAccess(t *testing.T) {
	s := newSite(t, siteOptions{})
	anon := s.browser()
	if code, body := anon.get("/import/tarefas/entrada/"); code != http.StatusOK || !strings.Contains(body, `id="login"`) {
		t.Fatalf("anonymous: %d, not the login page", code)
	}
	b := s.browser()
	b.login("maria", clerkPassword)
	if code, _ := b.get("/import/tarefas/outra/"); code != http.StatusForbidden {
		t.Fatalf("the clerk opened another inbox: %d", code)
	}
	if code, _, _ := b.upload("outra", "tarefas.xlsx", badSheet(t)); code != http.StatusForbidden {
		t.Fatalf("the clerk dropped in another inbox: %d", code)
	}
	if code, _ := b.get("/"); code == http.StatusOK {
		t.Fatal("a clerk opened the operator's status page")
	}
	op := s.browser()
	op.login("ana", operatorPassword)
	if code, _ := op.get("/import/tarefas/outra/"); code != http.StatusOK {
		t.Fatalf("the operator: %d", code)
	}
	if code, _ := op.get("/"); code != http.StatusOK {
		t.Fatalf("the operator's status page: %d", code)
	}
}

func TestImportPageCSRF(t *testing.T) {
	s := newSite(t, siteOptions{})
	b := s.browser()
	b.login("maria", clerkPassword)
	_, _, where := b.upload("entrada", "tarefas.xlsx", xlsxRows(t, goodRows(3, 9200)))
	for _, path := range []string{"send", "cell", "exclude", "discard"} {
		code, _, _ := b.post(where+path, url.Values{"row": {"2"}, "col": {"0"}, "value": {"1"}, "excluded": {"1"}}, false)
		if code != http.StatusForbidden {
			t.Errorf("%s without its CSRF token: %d", path, code)
		}
	}
	tok := b.CSRF
	b.CSRF = "forged"
	if code, _, _ := b.upload("entrada", "t.xlsx", xlsxRows(t, goodRows(1, 1))); code != http.StatusForbidden {
		t.Errorf("upload with a wrong token: %d", code)
	}
	b.CSRF = tok
	time.Sleep(300 * time.Millisecond)
	if s.fake.TaskCount() != 0 {
		t.Fatal("a form without its token sent rows")
	}
	if code, _, _ := b.post("/logout", url.Values{}, false); code != http.StatusForbidden {
		t.Errorf("logout without its token: %d", code)
	}
}

func TestImportPageLoginThrottle(t *testing.T) {
	s := newSite(t, siteOptions{})
	b := s.browser()
	for i := range 5 {
		if code, _ := b.login("maria", "wrong-password"); code != http.StatusUnauthorized && !(i == 4 && code == http.StatusTooManyRequests) {
			t.Fatalf("wrong password #%d: %d", i+1, code)
		}
	}
	code, body := b.login("maria", clerkPassword)
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Espere") {
		t.Fatalf("the right password right after five wrong ones: %d", code)
	}
	// The address is slowed down too, whatever the user name.
	if code, _ := s.browser().login("ana", operatorPassword); code != http.StatusTooManyRequests {
		t.Fatalf("another user from the same address: %d", code)
	}
}

func TestUserConfigChecks(t *testing.T) {
	base := `data_dir = "data"
[connections.ot]
type = "officetrack"
url = "https://example.invalid/ws"
user_name = "u"
password = "p"
[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = "m"
[[job.inbox]]
path = "entrada"
`
	good := "$2a$04$C6UzMDM.H6dfI/f/IKcEeO5NB6Xf2RO9ozA0VCI33C0XKFb4yIrCi"
	tests := []struct{ name, user, want string }{
		{"ok", `[[user]]` + "\nname = \"maria\"\ninboxes = [\"tarefas/entrada\"]\npassword_hash = \"" + good + "\"\n", ""},
		{"plain password", "[[user]]\nname = \"maria\"\ninboxes = [\"tarefas\"]\npassword_hash = \"segredo\"\n", "not a bcrypt hash"},
		{"unknown inbox", "[[user]]\nname = \"maria\"\ninboxes = [\"tarefas/saida\"]\npassword_hash = \"" + good + "\"\n", `has no inbox "saida"`},
		{"unknown job", "[[user]]\nname = \"maria\"\ninboxes = [\"outro\"]\npassword_hash = \"" + good + "\"\n", `no job "outro"`},
		{"clerk without inboxes", "[[user]]\nname = \"maria\"\npassword_hash = \"" + good + "\"\n", "add inboxes"},
		{"bad role", "[[user]]\nname = \"maria\"\nrole = \"admin\"\ninboxes = [\"tarefas\"]\npassword_hash = \"" + good + "\"\n", `role "admin"`},
		{"twice", "[[user]]\nname = \"maria\"\ninboxes = [\"tarefas\"]\npassword_hash = \"" + good + "\"\n[[user]]\nname = \"Maria\"\ninboxes = [\"tarefas\"]\npassword_hash = \"" + good + "\"\n", "duplicate user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bridge.ParseConfig(filepath.Join(t.TempDir(), "c.toml"), []byte(base+tt.user), registry())
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}
