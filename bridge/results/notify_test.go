package results

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

func notifyOptions() Options {
	o := DefaultOptions()
	o.Notifications.Path = "/officetrack/notify"
	o.Notifications.Token = testToken
	return o
}

// serve mounts the job's routes on a test server the way the engine does.
func serve(t *testing.T, f *fixture) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, r := range f.job.Routes() {
		if !r.Public {
			t.Fatalf("route %s must be Public (it checks its own secret)", r.Pattern)
		}
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func event(i int) officetracktest.FieldResultEvent {
	return officetracktest.FieldResultEvent{
		EventType: "FormSubmitted", EntryType: "Form", EntrySource: "Mobile",
		EntryID: fmt.Sprint(500000 + i), EmployeeNumber: "E7", Status: "Closed",
		Time: time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Data: map[string]string{"Signal": fmt.Sprint(-20 - i%10), "Note": "cliente ausente & <retorno>"},
	}
}

func notifications(t *testing.T, f *fixture) map[string]string {
	t.Helper()
	return tree(t, path.Join(f.targetDir, "notifications"))
}

func TestNotificationWrittenOnceAndAnsweredOK(t *testing.T) {
	f := newFixture(t, nil, notifyOptions(), nil, "")
	srv := serve(t, f)
	ctx := context.Background()
	doc := officetracktest.FieldResultNotificationXML(event(1))
	u := srv.URL + "/officetrack/notify?token=" + url.QueryEscape(testToken)
	for i := 0; i < 3; i++ { // the sender re-posts the same notification
		if err := officetracktest.FieldResultPostNotification(ctx, nil, u, doc); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	got := notifications(t, f)
	if len(got) != 1 {
		t.Fatalf("want 1 file, got %v", keys(got))
	}
	for name, content := range got {
		if content != doc {
			t.Errorf("file content differs from the posted document")
		}
		if !strings.Contains(name, "_FormSubmitted_500001_") || !strings.HasSuffix(name, ".xml") {
			t.Errorf("name %q does not carry event type and entry id", name)
		}
	}
	// Token in a header works too.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/officetrack/notify",
		strings.NewReader(url.Values{"RequestString": {officetracktest.FieldResultNotificationXML(event(2))}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(TokenHeader, testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "_OK_" {
		t.Fatalf("header token: %d %q", resp.StatusCode, body)
	}
	if n := len(notifications(t, f)); n != 2 {
		t.Fatalf("want 2 files, got %d", n)
	}
}

func TestNotificationBurst(t *testing.T) {
	f := newFixture(t, nil, notifyOptions(), nil, "")
	srv := serve(t, f)
	u := srv.URL + "/officetrack/notify?token=" + url.QueryEscape(testToken)
	const total, senders = 1000, 20
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	docs := make([]string, total)
	for i := range docs {
		docs[i] = officetracktest.FieldResultNotificationXML(event(i))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if err := officetracktest.FieldResultPostNotification(context.Background(), client, u, docs[i]); err != nil {
					errs <- fmt.Errorf("notification %d: %w", i, err)
				}
				if i%50 == 0 { // a sender retrying after a lost answer
					if err := officetracktest.FieldResultPostNotification(context.Background(), client, u, docs[i]); err != nil {
						errs <- fmt.Errorf("re-post %d: %w", i, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := notifications(t, f)
	if len(got) != total {
		t.Fatalf("want %d files, got %d", total, len(got))
	}
	seen := map[string]bool{}
	for _, c := range got {
		if seen[c] {
			t.Fatal("a notification was written twice")
		}
		seen[c] = true
	}
	for i, d := range docs {
		if !seen[d] {
			t.Fatalf("notification %d missing", i)
		}
	}
}

func TestNotificationRefused(t *testing.T) {
	o := notifyOptions()
	o.Notifications.MaxBytes = 64 << 10
	f := newFixture(t, nil, o, nil, "")
	srv := serve(t, f)
	good := officetracktest.FieldResultNotificationXML(event(1))
	post := func(query, ctype string, body string) (int, string) {
		resp, err := http.Post(srv.URL+"/officetrack/notify"+query, ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := func(doc string) string { return url.Values{"RequestString": {doc}}.Encode() }
	tok := "?token=" + url.QueryEscape(testToken)
	const fct = "application/x-www-form-urlencoded"
	cases := []struct {
		name, query, ctype, body string
		status                   int
	}{
		{"no token", "", fct, form(good), 401},
		{"wrong token", "?token=wrong-token-0123456789", fct, form(good), 401},
		{"token prefix", "?token=" + url.QueryEscape(testToken[:10]), fct, form(good), 401},
		{"malformed xml", tok, fct, form("<Notification><EventType>X</Notification>"), 400},
		{"not xml", tok, fct, form("hello"), 400},
		{"two roots", tok, fct, form("<a/><b/>"), 400},
		{"doctype", tok, fct, form(`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`), 400},
		{"empty", tok, fct, form(""), 400},
		{"no field", tok, fct, "Other=1", 400},
		{"two fields", tok, fct, form(good) + "&" + form(good), 400},
		{"oversized field", tok, fct, form("<a>" + strings.Repeat("x", 70<<10) + "</a>"), 413},
		{"oversized body", tok, fct, "RequestString=" + strings.Repeat("%41", 100<<10), 413},
		{"wrong content type", tok, "text/xml", good, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(c.query, c.ctype, c.body)
			if status != c.status {
				t.Fatalf("status %d (%q), want %d", status, body, c.status)
			}
			if body == "_OK_" {
				t.Fatal("refused request answered _OK_")
			}
			if n := len(notifications(t, f)); n != 0 {
				t.Fatalf("%d files written for a refused notification", n)
			}
		})
	}
	// A GET is not a notification either.
	resp, err := http.Get(srv.URL + "/officetrack/notify" + tok)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("GET answered 200")
	}
	// Nothing in the ledger either.
	n := 0
	_ = f.ledger.ItemsWithPrefix(context.Background(), "results", "", func(ledger.Item) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d ledger items for refused notifications", n)
	}
}

// An interrupted earlier write (ledger says "writing", the file may be
// there) is finished under the same name when the sender re-posts.
func TestNotificationResumesInterruptedWrite(t *testing.T) {
	f := newFixture(t, nil, notifyOptions(), nil, "")
	ctx := context.Background()
	doc := officetracktest.FieldResultNotificationXML(event(3))
	note, err := officetrack.ParseNotification([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	// Simulate: the item was recorded "writing" and the file written, then
	// the process died before "written".
	name, _, err := f.job.notify.store(ctx, []byte(doc), note)
	if err != nil {
		t.Fatal(err)
	}
	it, err := f.ledger.GetItem(ctx, "results", notificationPrefix+hashOf(doc))
	if err != nil {
		t.Fatal(err)
	}
	it.Outcome = OutcomeWriting
	if err := f.ledger.PutItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	f.job.SetClock(func() time.Time { return time.Now().Add(time.Hour) }) // a later receive time
	srv := serve(t, f)
	if err := officetracktest.FieldResultPostNotification(ctx, nil, srv.URL+"/officetrack/notify?token="+testToken, doc); err != nil {
		t.Fatal(err)
	}
	got := notifications(t, f)
	if len(got) != 1 {
		t.Fatalf("want 1 file, got %v", keys(got))
	}
	if _, ok := got[path.Base(name)]; !ok {
		t.Fatalf("file %s not kept under its first name: %v", name, keys(got))
	}
}

func TestNotificationFileNameIsSanitized(t *testing.T) {
	cases := []struct {
		note officetrack.Notification
		want string
	}{
		{officetrack.Notification{EventType: "../../etc/passwd", EntryID: "/abs\x00\n"}, "etc-passwd_abs"},
		{officetrack.Notification{EventType: "", EntryID: ""}, "event_entry"},
		{officetrack.Notification{EventType: "Tâsk Státus", EntryID: strings.Repeat("9", 100)}, "T-sk-St-tus_" + strings.Repeat("9", 40)},
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	for _, c := range cases {
		got := notificationFileName(c.note, ts, strings.Repeat("ab", 32))
		want := "20260102T030405.006Z_" + c.want + "_abababababab.xml"
		if got != want {
			t.Errorf("name %q, want %q", got, want)
		}
		if err := safeRel(got); err != nil {
			t.Errorf("%q: %v", got, err)
		}
	}
}

func TestNotificationForwarded(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var calls atomic.Int32
	customer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "Bearer fwd-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_ = r.ParseForm()
		mu.Lock()
		got = append(got, r.PostForm.Get("RequestString"))
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer customer.Close()
	o := notifyOptions()
	o.Notifications.ForwardURL = customer.URL + "/in"
	o.Notifications.ForwardToken = "fwd-token"
	o.Notifications.ForwardAttempts = 4
	f := newFixture(t, nil, o, nil, "")
	srv := serve(t, f)
	doc := officetracktest.FieldResultNotificationXML(event(9))
	start := time.Now()
	if err := officetracktest.FieldResultPostNotification(context.Background(), nil, srv.URL+"/officetrack/notify?token="+testToken, doc); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Errorf("the answer waited for the forward")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not forwarded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got[0] != doc {
		t.Fatal("forwarded document differs")
	}
	ctx := context.Background()
	deadline = time.Now().Add(5 * time.Second)
	for {
		it, err := f.ledger.GetItem(ctx, "results", forwardPrefix+hashOf(doc))
		if err == nil && it.Outcome == OutcomeForwarded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("forward not recorded: %+v %v", it, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hashOf(s string) string {
	return sha256hex([]byte(s))
}

func TestNotificationTriggersPickup(t *testing.T) {
	o := notifyOptions()
	o.Notifications.TriggerPickup = true
	f := newFixture(t, nil, o, localT(t, t.TempDir()), "")
	var asked atomic.Int32
	f.env.TriggerRun = func(reason string) bool { asked.Add(1); return true }
	srv := serve(t, f)
	doc := officetracktest.FieldResultNotificationXML(event(4))
	for i := 0; i < 2; i++ {
		if err := officetracktest.FieldResultPostNotification(context.Background(), nil, srv.URL+"/officetrack/notify?token="+testToken, doc); err != nil {
			t.Fatal(err)
		}
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("pickup asked %d times, want 1 (the re-post is not new)", n)
	}
}
