package sheets

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/bridge/web"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// site is a running bridge with the import pages: the engine (its watcher
// takes what the page puts in the inbox), its HTTP server, a fake
// OfficeTrack, two inboxes ("entrada", given to the clerk, and "outra")
// and two users: the clerk "maria" and the operator "ana".
type site struct {
	t     testing.TB
	srv   *httptest.Server
	fake  *officetracktest.Server
	inbox string // entrada
	other string // outra
	l     ledger.Ledger
	root  string
}

const (
	clerkPassword    = "senha-da-maria-123"
	operatorPassword = "senha-da-ana-4567"
)

type siteOptions struct {
	// latency of the fake's answers.
	latency time.Duration
	// extra TOML for the job table.
	job string
	// minAge of the job (default 30s: a file the page placed is taken at
	// once all the same).
	minAge string
}

func newSite(t testing.TB, so siteOptions) *site {
	t.Helper()
	if so.minAge == "" {
		so.minAge = "30s"
	}
	root := t.TempDir()
	s := &site{t: t, root: root, inbox: filepath.Join(root, "entrada"), other: filepath.Join(root, "outra")}
	maps := filepath.Join(root, "mappings")
	for _, d := range []string{s.inbox, s.other, maps, filepath.Join(root, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(maps, "tarefas.toml"), []byte(tasksMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	s.fake = officetracktest.NewServer(officetracktest.Options{Latency: so.latency})
	t.Cleanup(s.fake.Close)
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	co := s.fake.ClientOptions()
	cfgText := fmt.Sprintf(`data_dir = "data"
language = "pt-BR"
[http]
listen = "off"
token = "operator-token-0123456789"

[[user]]
name = "maria"
role = "clerk"
inboxes = ["tarefas/entrada"]
password_hash = %q

[[user]]
name = "ana"
role = "operator"
password_hash = %q

[connections.ot]
type = "officetrack"
url = %q
user_name = %q
password = %q
retry_backoff = "10ms"
max_backoff = "50ms"

[[job]]
name = "tarefas"
kind = "sheet-officetrack"
officetrack = "ot"
mappings = "mappings"
min_age = %q
rescan = "1s"
%s
[[job.inbox]]
path = "entrada"
[[job.inbox]]
path = "outra"
`, hash(clerkPassword), hash(operatorPassword), co.URL, co.UserName, co.Password, so.minAge, so.job)
	cfg, err := bridge.ParseConfig(filepath.Join(root, "config.toml"), []byte(cfgText), registry())
	if err != nil {
		t.Fatal(err)
	}
	s.l = newTestLedger(t, filepath.Join(root, "data"))
	ctx, cancel := context.WithCancel(context.Background())
	e, err := bridge.NewEngine(ctx, bridge.EngineOptions{Config: cfg, Registry: registry(), Ledger: s.l,
		WatchDebounce: 50 * time.Millisecond, Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := bridge.NewServer(e)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	s.srv = httptest.NewServer(hs.Handler())
	t.Cleanup(func() {
		s.srv.Close()
		cancel()
		<-done
	})
	return s
}

// browser is one person's browser (web.Client), failing the test on a
// broken connection.
type browser struct {
	*web.Client
	t testing.TB
}

func (s *site) browser() *browser {
	return &browser{Client: web.NewClient(s.srv.URL), t: s.t}
}

func (b *browser) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

// get fetches path and returns the status and body.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	code, body, err := b.Get(path)
	b.must(err)
	return code, body
}

// post sends a form (with the CSRF token unless withCSRF is false).
func (b *browser) post(path string, form url.Values, withCSRF bool) (int, string, string) {
	b.t.Helper()
	code, body, final, err := b.Post(path, form, withCSRF)
	b.must(err)
	return code, body, final
}

// login signs in and returns the final status.
func (b *browser) login(user, password string) (int, string) {
	b.t.Helper()
	code, body, err := b.Login(user, password)
	b.must(err)
	return code, body
}

// upload drops a file on the inbox page as the page's form does.
func (b *browser) upload(inbox, name string, data []byte) (int, string, string) {
	b.t.Helper()
	code, body, final, err := b.Upload("/import/tarefas/"+inbox+"/upload", name, data)
	b.must(err)
	return code, body, final
}

// waitFile waits until the ledger holds the sheet with content sha in one
// of the settled states.
func (s *site) waitFile(sha string) ledger.File {
	s.t.Helper()
	// Well under min_age (30s): a sheet the page placed is taken at once.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		rec, err := s.l.FileBySHA256(context.Background(), "tarefas", sha)
		if err == nil && settled(rec.State) {
			return rec
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("sheet %s not settled in time", sha)
	return ledger.File{}
}

func pathSHA(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if p == "f" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

// testLogger logs to the test's output when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
