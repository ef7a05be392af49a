package results

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/transports"
)

// Ledger item outcomes of notifications and forwards.
const (
	OutcomeWriting   = "writing"
	OutcomeWritten   = "written"
	OutcomePending   = "pending"
	OutcomeForwarded = "forwarded"
	OutcomeFailed    = "failed"
)

// Item key prefixes in the ledger.
const (
	notificationPrefix = "notification:"
	forwardPrefix      = "forward:"
)

// TokenHeader is the header that may carry the receiver's shared secret
// (besides the URL query parameter "token" and "Authorization: Bearer").
const TokenHeader = "X-Fieldbridge-Token"

// writeTimeout bounds writing one notification; the write goes on when the
// sender hangs up, so that a half-received answer never leaves half a file.
const writeTimeout = 60 * time.Second

// Routes implements bridge.Handler: the notification receiver, when
// notifications.path is set. The route is Public for the server's own
// token check: OfficeTrack cannot send the server's token, so the receiver
// checks its own shared secret (notifications.token).
func (j *Job) Routes() []bridge.Route {
	if j.notify == nil {
		return nil
	}
	j.notify.start()
	return []bridge.Route{{Pattern: "POST " + j.opts.Notifications.Path, Handler: j.notify, Public: true}}
}

// NotificationHandler returns the receiver as a plain http.Handler (for
// tests and for mounting elsewhere); nil when notifications are off.
func (j *Job) NotificationHandler() http.Handler {
	if j.notify == nil {
		return nil
	}
	j.notify.start()
	return j.notify
}

// notifier is the notification receiver and forwarder of one job.
type notifier struct {
	j     *Job
	token [32]byte // sha256 of the shared secret

	locksMu sync.Mutex
	locks   map[string]*keyLock

	client    *http.Client
	queue     chan string
	rescan    atomic.Bool
	startOnce sync.Once
	stopOnce  sync.Once
	cancel    context.CancelFunc
	done      chan struct{}
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func newNotifier(j *Job) *notifier {
	return &notifier{
		j:      j,
		token:  sha256.Sum256([]byte(j.opts.Notifications.Token)),
		locks:  map[string]*keyLock{},
		client: &http.Client{Timeout: j.opts.Notifications.ForwardTimeout.Duration},
		queue:  make(chan string, 1024),
		done:   make(chan struct{}),
	}
}

// start starts the forwarder (once), when a forward URL is set.
func (n *notifier) start() {
	n.startOnce.Do(func() {
		if n.j.opts.Notifications.ForwardURL == "" {
			close(n.done)
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel = cancel
		n.rescan.Store(true) // forwards left pending by an earlier process
		go n.loop(ctx)
	})
}

func (n *notifier) stop() {
	n.stopOnce.Do(func() {
		n.startOnce.Do(func() { close(n.done) })
		if n.cancel != nil {
			n.cancel()
		}
	})
	<-n.done
}

// lock serializes work on one notification (same content hash).
func (n *notifier) lock(key string) func() {
	n.locksMu.Lock()
	l := n.locks[key]
	if l == nil {
		l = &keyLock{}
		n.locks[key] = l
	}
	l.refs++
	n.locksMu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		n.locksMu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(n.locks, key)
		}
		n.locksMu.Unlock()
	}
}

// authorized checks the shared secret in constant time. It may come as
// the query parameter "token" (the URL given to OfficeTrack), the header
// X-Fieldbridge-Token or "Authorization: Bearer" (bridge.RequestToken).
func (n *notifier) authorized(r *http.Request) bool {
	tok := bridge.RequestToken(r)
	if tok == "" {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], n.token[:]) == 1
}

// ServeHTTP receives one notification.
func (n *notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j := n.j
	log := j.logger()
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, msg+"\n")
	}
	if !n.authorized(r) {
		log.Warn("notification refused: wrong or missing token", "job", j.name, "remote", r.RemoteAddr)
		fail(http.StatusUnauthorized, "unauthorized")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(http.StatusMethodNotAllowed, "use POST")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		fail(http.StatusUnsupportedMediaType, "expected Content-Type application/x-www-form-urlencoded with a RequestString field")
		return
	}
	max := j.opts.Notifications.MaxBytes
	// URL-encoding at most triples the size; allow the field name and a
	// little more around it.
	r.Body = http.MaxBytesReader(w, r.Body, 3*max+4096)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			log.Warn("notification refused: body too large", "job", j.name, "limit", 3*max+4096)
			fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", 3*max+4096))
			return
		}
		fail(http.StatusBadRequest, "unreadable form body: "+err.Error())
		return
	}
	vals := r.PostForm["RequestString"]
	if len(vals) != 1 {
		fail(http.StatusBadRequest, "the form must carry exactly one RequestString field")
		return
	}
	doc := vals[0]
	if int64(len(doc)) > max {
		log.Warn("notification refused: RequestString too large", "job", j.name, "bytes", len(doc), "limit", max)
		fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("RequestString has %d bytes, more than the limit of %d", len(doc), max))
		return
	}
	note, err := officetrack.ParseNotification([]byte(doc))
	if err != nil {
		log.Warn("notification refused", "job", j.name, "err", err)
		fail(http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), writeTimeout)
	defer cancel()
	name, dup, err := n.store(ctx, []byte(doc), note)
	if err != nil {
		log.Error("notification not stored; the sender will retry", "job", j.name, "event", note.EventType, "entry", note.EntryID, "err", err)
		fail(http.StatusServiceUnavailable, "not stored, try again later")
		return
	}
	if dup {
		log.Info("notification already stored (re-post)", "job", j.name, "file", name)
	} else {
		log.Info("notification stored", "job", j.name, "file", name, "event", note.EventType, "entry", note.EntryID)
		if j.opts.Notifications.TriggerPickup && j.opts.Source != "" {
			j.env.Trigger("officetrack notification")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "_OK_")
}

// store writes one checked notification once: it returns the file's path
// in the target and whether it had been stored before.
func (n *notifier) store(ctx context.Context, doc []byte, note officetrack.Notification) (string, bool, error) {
	j := n.j
	hash := sha256hex(doc)
	key := notificationPrefix + hash
	unlock := n.lock(hash)
	defer unlock()
	// The same notification posted to two nodes of a cluster at once: one
	// writes it, the other finds it written.
	unlockShared, err := j.env.Lock(ctx, "notify:"+hash)
	if err != nil {
		return "", false, fmt.Errorf("ledger: %w", err)
	}
	defer unlockShared()

	l := j.env.Ledger
	it, err := l.GetItem(ctx, j.name, key)
	switch {
	case err == nil && it.Outcome == OutcomeWritten:
		return it.RemoteID, true, nil
	case err == nil && it.Outcome == OutcomeWriting && it.RemoteID != "":
		// An earlier attempt was interrupted: write under the same name,
		// removing what the killed attempt may have left half-written.
		if dst, terr := j.targetT(ctx); terr == nil {
			j.cleanTemps(ctx, nil, dst, path.Dir(it.RemoteID), map[string]bool{path.Base(it.RemoteID): true}, time.Time{})
		}
	case err == nil || errors.Is(err, ledger.ErrNotFound):
		it = ledger.Item{Job: j.name, Key: key, Hash: hash, Outcome: OutcomeWriting,
			RemoteID: j.targetPath(path.Join(j.opts.Notifications.Dir, notificationFileName(note, j.now(), hash)))}
		if err := l.PutItem(ctx, it); err != nil {
			return "", false, fmt.Errorf("ledger: %w", err)
		}
	default:
		return "", false, fmt.Errorf("ledger: %w", err)
	}
	dst, err := j.targetT(ctx)
	if err != nil {
		return "", false, err
	}
	// The name carries the content hash, so whatever is there already is
	// this very notification from an interrupted attempt: replace it.
	if _, err := dst.Write(ctx, it.RemoteID, bytes.NewReader(doc), transports.WriteOptions{Overwrite: transports.Replace, Size: int64(len(doc))}); err != nil {
		return "", false, fmt.Errorf("writing %s to %s: %w", it.RemoteID, dst, err)
	}
	it.Outcome = OutcomeWritten
	it.Message = strings.TrimSpace(note.EventType + " " + note.EntryType + " " + note.EntryID)
	items := []ledger.Item{it}
	forward := j.opts.Notifications.ForwardURL != ""
	if forward {
		items = append(items, ledger.Item{Job: j.name, Key: forwardPrefix + hash, Hash: hash, Outcome: OutcomePending, RemoteID: it.RemoteID})
	}
	if err := l.PutItems(ctx, items); err != nil {
		return "", false, fmt.Errorf("ledger: %w", err)
	}
	if forward {
		select {
		case n.queue <- hash:
		default:
			n.rescan.Store(true)
		}
	}
	return it.RemoteID, false, nil
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// notificationFileName builds a notification's file name from checked
// parts only: receive time (UTC, milliseconds), event type and entry id
// reduced to [A-Za-z0-9-] (at most 40 characters each), and the first 12
// hex digits of the content hash, which makes it unique.
func notificationFileName(note officetrack.Notification, t time.Time, hash string) string {
	return fmt.Sprintf("%s_%s_%s_%s.xml",
		t.UTC().Format("20060102T150405.000Z"),
		sanitize(note.EventType, "event"),
		sanitize(note.EntryID, "entry"),
		hash[:12])
}

// sanitize keeps ASCII letters, digits and '-' (other runs become one
// '-'), trims '-' at the ends and cuts to 40 bytes; empty gives def.
func sanitize(s, def string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 40 {
		out = strings.Trim(out[:40], "-")
	}
	if out == "" {
		return def
	}
	return out
}

// loop forwards written notifications until stopped.
func (n *notifier) loop(ctx context.Context) {
	defer close(n.done)
	for {
		if n.rescan.Swap(false) {
			n.forwardPending(ctx, nil)
		}
		select {
		case <-ctx.Done():
			return
		case h := <-n.queue:
			n.forwardOne(ctx, h, nil)
		case <-time.After(time.Minute):
			// Pending forwards that failed are retried by the job's runs;
			// this wakes the loop for rescans requested meanwhile.
		}
	}
}

// retryPending is called by Run: forwards still pending or failed are
// tried again, and failures become problems of the run.
func (n *notifier) retryPending(ctx context.Context, rc *bridge.RunContext) {
	n.forwardPending(ctx, rc)
}

func (n *notifier) forwardPending(ctx context.Context, rc *bridge.RunContext) {
	var hashes []string
	err := n.j.env.Ledger.ItemsWithPrefix(ctx, n.j.name, forwardPrefix, func(it ledger.Item) error {
		if it.Outcome == OutcomePending || it.Outcome == OutcomeFailed {
			hashes = append(hashes, strings.TrimPrefix(it.Key, forwardPrefix))
		}
		return nil
	})
	if err != nil {
		n.j.logger().Error("ledger: listing pending forwards", "job", n.j.name, "err", err)
		return
	}
	for _, h := range hashes {
		if ctx.Err() != nil {
			return
		}
		n.forwardOne(ctx, h, rc)
	}
}

// forwardOne forwards one written notification with retries and records
// the outcome.
func (n *notifier) forwardOne(ctx context.Context, hash string, rc *bridge.RunContext) {
	j := n.j
	key := forwardPrefix + hash
	unlock := n.lock(key)
	defer unlock()
	l := j.env.Ledger
	it, err := l.GetItem(ctx, j.name, key)
	if err != nil || it.Outcome == OutcomeForwarded {
		return
	}
	o := j.opts.Notifications
	var last error
	delay := time.Second
	for attempt := 1; attempt <= o.ForwardAttempts; attempt++ {
		if last = n.post(ctx, it.RemoteID); last == nil {
			break
		}
		if attempt == o.ForwardAttempts || ctx.Err() != nil {
			break
		}
		wait := delay + time.Duration(rand.Int64N(int64(delay/2)+1))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		if delay < time.Minute {
			delay *= 2
		}
	}
	if ctx.Err() != nil && last != nil {
		return // shutting down; stays pending
	}
	if last == nil {
		it.Outcome, it.Message = OutcomeForwarded, ""
		if rc != nil {
			rc.Count("forwarded", 1)
		}
	} else {
		it.Outcome, it.Message = OutcomeFailed, last.Error()
		j.logger().Warn("forwarding a notification failed; it is tried again at the next run", "job", j.name, "file", it.RemoteID, "err", last)
		if rc != nil {
			rc.Count("forward_failed", 1)
			rc.Problem(it.RemoteID, j.msg(msgForwardFailed, redactURL(o.ForwardURL), last))
		}
	}
	if err := l.PutItem(ctx, it); err != nil {
		j.logger().Error("ledger", "job", j.name, "err", err)
	}
}

// post sends one stored notification to the forward URL.
func (n *notifier) post(ctx context.Context, file string) error {
	j := n.j
	dst, err := j.targetT(ctx)
	if err != nil {
		return err
	}
	rd, err := dst.Open(ctx, file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	doc, err := io.ReadAll(io.LimitReader(rd, j.opts.Notifications.MaxBytes+1))
	rd.Close()
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	form := url.Values{"RequestString": {string(doc)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.opts.Notifications.ForwardURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if t := j.opts.Notifications.ForwardToken; t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return redactErr(err, j.opts.Notifications.ForwardURL)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d from %s", resp.StatusCode, redactURL(j.opts.Notifications.ForwardURL))
	}
	return nil
}

// redactURL drops the query and user info of a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(forward_url)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// redactErr rewrites an error from net/http, which quotes the full URL.
func redactErr(err error, raw string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, redactURL(raw), ue.Err)
	}
	return err
}
