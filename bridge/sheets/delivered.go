package sheets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

// What OfficeTrack holds is remembered per target key — a task's
// TaskNumber (given or derived), a point of interest's customerNumber —
// whatever file and row it came from. Ledger items of a job:
//
//	<file sha256>:<row>          one row of one file (itemKey): its outcome
//	k:task:<n>, k:poi:<number>   the target record (targetRecord, JSON in
//	                             Message; Hash: the content last accepted)
//	h:<target key>:<unix ns>     one send of that key, for `ledger show`
//	                             (historyEntry, JSON in Message)
//
// A row is sent only when its content differs from what OfficeTrack last
// accepted for its key (or the clerk asks for a re-send). Before the call,
// the target record says what is being sent (Pending) in the same
// transaction as the row's "sending" state; after a crash a pending send
// is looked up in OfficeTrack before anything is sent again (reconcile.go).

// Target record prefixes.
const (
	targetPrefix  = "k:"
	historyPrefix = "h:"
)

// targetRecord is what the ledger knows of one target key.
type targetRecord struct {
	// Hash is the content hash (valuesHash) of what OfficeTrack last
	// accepted; "" when nothing was.
	Hash   string            `json:"hash,omitempty"`
	Values map[string]string `json:"values,omitempty"`
	At     time.Time         `json:"at,omitzero"`
	File   string            `json:"file,omitempty"` // sha256 of the file it came in
	Name   string            `json:"name,omitempty"` // that file's name
	Row    int               `json:"row,omitempty"`
	// Pending is a send that may have reached OfficeTrack: recorded before
	// the call, cleared with its outcome.
	Pending *pendingSend `json:"pending,omitempty"`
}

// pendingSend is a send under way (or interrupted).
type pendingSend struct {
	Hash   string            `json:"hash"`
	Values map[string]string `json:"values"`
	File   string            `json:"file"`
	Name   string            `json:"name"`
	Row    int               `json:"row"`
	At     time.Time         `json:"at"`
	Run    int64             `json:"run"`
	Resend bool              `json:"resend,omitempty"` // asked for by the clerk
}

// targetKeyOf is the target key of a row ("task:<n>", "poi:<number>"),
// "" for a row without one.
func targetKeyOf(r *outRow) string {
	switch {
	case r.Task != nil && r.Task.TaskNumber != nil:
		return "task:" + strconv.FormatInt(*r.Task.TaskNumber, 10)
	case r.POI != nil && r.POI.CustomerNumber != "":
		return "poi:" + r.POI.CustomerNumber
	}
	return ""
}

// values is the content a row sends, by field name.
func (r *outRow) values() map[string]string {
	switch {
	case r.Task != nil:
		return r.Task.Values()
	case r.POI != nil:
		return r.POI.Values()
	}
	return nil
}

// valuesHash is the content hash of a row's values: SHA-256 of the sorted
// "name=value" lines, 32 hex digits.
func valuesHash(v map[string]string) string {
	h := sha256.New()
	for _, k := range sortedKeys(v) {
		fmt.Fprintf(h, "%s=%q\n", k, v[k])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// changes lists what differs from old to new, one "Column: old → new" per
// field, in field-name order (TaskNumber, the key, never differs). label
// names a field as the sheet does (its column); nil or "" keeps the field
// name.
func changes(old, new map[string]string, label func(string) string) []string {
	name := func(f string) string {
		if label != nil {
			if l := label(f); l != "" {
				return l
			}
		}
		return f
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range append(sortedKeys(old), sortedKeys(new)...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		o, inOld := old[k]
		n, inNew := new[k]
		switch {
		case inOld && inNew && o == n:
		case !inNew:
			// a field the row no longer sets is left as it is in OfficeTrack
		case !inOld:
			out = append(out, fmt.Sprintf("%s: → %q", name(k), n))
		default:
			out = append(out, fmt.Sprintf("%s: %q → %q", name(k), o, n))
		}
	}
	return out
}

// sendReason says why a row is sent although its key was sent before:
// the re-send its row asks for, and what changed from what OfficeTrack
// holds (changed, the changes by column). Both are empty for a key never
// sent. text writes the messages in the job's language.
func sendReason(tr *targetRecord, r *outRow, hash string, values map[string]string, label func(string) string, text func(int, ...any) string) (why string, changed []string) {
	if tr.Hash == "" {
		return "", nil
	}
	if tr.Hash != hash {
		changed = changes(tr.Values, values, label)
		why = text(msgUpdated, strings.Join(changed, "; "))
	}
	if r.Resend {
		why = strings.TrimSuffix(text(msgResent)+"; "+why, "; ")
	}
	return why, changed
}

// alreadySent is the message of a row whose content OfficeTrack already
// holds, naming when it was sent.
func alreadySent(tr *targetRecord, loc *time.Location, text func(int, ...any) string) string {
	return text(msgAlreadySent, tr.At.In(loc).Format("02/01 15:04"))
}

// columnLabel names a field by its column in the sheet src (nil: by the
// field's own name).
func columnLabel(src sheetSource) func(string) string {
	if ms, ok := src.(*mappedSheet); ok {
		return ms.m.ColumnOf
	}
	return nil
}

// loadTarget reads a target record; a key never seen gives a zero record.
func loadTarget(ctx context.Context, l ledger.Ledger, job, key string) (targetRecord, error) {
	var tr targetRecord
	it, err := l.GetItem(ctx, job, targetPrefix+key)
	if errors.Is(err, ledger.ErrNotFound) {
		return tr, nil
	}
	if err != nil {
		return tr, err
	}
	if err := json.Unmarshal([]byte(it.Message), &tr); err != nil {
		return tr, fmt.Errorf("ledger: target record %s: %w", key, err)
	}
	return tr, nil
}

// item is the ledger item holding tr.
func (tr *targetRecord) item(job, key string, runID int64, now time.Time) ledger.Item {
	b, _ := json.Marshal(tr)
	outcome := OutcomeSent
	switch {
	case tr.Pending != nil:
		outcome = outcomeSending
	case tr.Hash == "" && tr.Values != nil:
		outcome = "unknown" // an interrupted send could not be checked
	case tr.Hash == "":
		outcome = OutcomeFailed
	}
	return ledger.Item{Job: job, Key: targetPrefix + key, Hash: tr.Hash, Outcome: outcome, Message: string(b),
		RemoteID: strings.TrimPrefix(strings.TrimPrefix(key, "task:"), "poi:"), RunID: runID, Updated: now}
}

// historyItem is the ledger item of one history entry of key.
func historyItem(job, key string, runID int64, e HistoryEntry) ledger.Item {
	b, _ := json.Marshal(e)
	return ledger.Item{Job: job, Key: fmt.Sprintf("%s%s:%020d", historyPrefix, key, e.At.UnixNano()), Outcome: e.Outcome,
		Message: string(b), RunID: runID, Updated: e.At}
}

// History returns the history of a target key of job ("task:123",
// "poi:C-9"; a bare number is a task), oldest first, and its current
// record as JSON ("" when the key is unknown).
func History(ctx context.Context, l ledger.Ledger, job, key string) (current string, entries []HistoryEntry, err error) {
	key = NormalizeKey(key)
	if it, err := l.GetItem(ctx, job, targetPrefix+key); err == nil {
		current = it.Message
	} else if !errors.Is(err, ledger.ErrNotFound) {
		return "", nil, err
	}
	err = l.ItemsWithPrefix(ctx, job, historyPrefix+key+":", func(it ledger.Item) error {
		var e HistoryEntry
		if err := json.Unmarshal([]byte(it.Message), &e); err != nil {
			return fmt.Errorf("ledger: history of %s: %w", key, err)
		}
		entries = append(entries, e)
		return nil
	})
	return current, entries, err
}

// HistoryEntry is one send (or confirmation) of a target key: when, from
// which file and row, what was sent, what changed, OfficeTrack's answer.
type HistoryEntry struct {
	At      time.Time         `json:"at"`
	File    string            `json:"file,omitempty"`
	Name    string            `json:"name,omitempty"`
	Row     int               `json:"row,omitempty"`
	Outcome string            `json:"outcome"`
	Answer  string            `json:"answer,omitempty"`
	Values  map[string]string `json:"values,omitempty"`
	Changes []string          `json:"changes,omitempty"`
	Resend  bool              `json:"resend,omitempty"`
}

// NormalizeKey turns what a person types into a target key: "123" and
// "task:123" name a task, "poi:X" a point of interest.
func NormalizeKey(k string) string {
	k = strings.TrimSpace(k)
	if strings.HasPrefix(k, "task:") || strings.HasPrefix(k, "poi:") {
		return k
	}
	if _, err := strconv.ParseInt(k, 10, 64); err == nil {
		return "task:" + k
	}
	return "poi:" + k
}
