package officetracktest

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
)

// FieldResultEvent is one Client Notification System event the fake can
// post: the fields OfficeTrack sends, plus free-form entry data.
type FieldResultEvent struct {
	EventType   string // "TaskStatusChanged", "FormSubmitted", ...
	EntryType   string // "Task", "Form"
	EntrySource string // "Mobile"
	EntryID     string
	// EmployeeNumber and Status are typical entry data.
	EmployeeNumber string
	Status         string
	// Time is when the event happened (zero: now).
	Time time.Time
	// Data is extra entry data, written as <Data><Field Name="k">v</Field>...
	Data map[string]string
}

// FieldResultNotificationXML renders ev as the XML document OfficeTrack
// puts in the RequestString form field.
func FieldResultNotificationXML(ev FieldResultEvent) string {
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-16"?>` + "\n<Notification>")
	el := func(name, v string) {
		b.WriteString("<" + name + ">")
		_ = xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + name + ">")
	}
	el("EventType", ev.EventType)
	el("EventTime", t.UTC().Format("2006-01-02T15:04:05.000Z"))
	el("EntryType", ev.EntryType)
	el("EntrySource", ev.EntrySource)
	b.WriteString("<Entry>")
	el("EntryID", ev.EntryID)
	if ev.EmployeeNumber != "" {
		el("EmployeeNumber", ev.EmployeeNumber)
	}
	if ev.Status != "" {
		el("Status", ev.Status)
	}
	if len(ev.Data) > 0 {
		b.WriteString("<Data>")
		for _, k := range sortedKeys(ev.Data) {
			b.WriteString(`<Field Name="`)
			_ = xml.EscapeText(&b, []byte(k))
			b.WriteString(`">`)
			_ = xml.EscapeText(&b, []byte(ev.Data[k]))
			b.WriteString("</Field>")
		}
		b.WriteString("</Data>")
	}
	b.WriteString("</Entry></Notification>")
	return b.String()
}

// FieldResultPostNotification posts requestString to url the way
// OfficeTrack's Client Notification System does: POST,
// application/x-www-form-urlencoded, field RequestString. It returns nil
// only when the receiver answered 200 with the body "_OK_" (anything else
// is a failure to the sender), and otherwise an error carrying the status.
func FieldResultPostNotification(ctx context.Context, client *http.Client, url_, requestString string) error {
	if client == nil {
		client = http.DefaultClient
	}
	form := url.Values{"RequestString": {requestString}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url_, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || string(body) != "_OK_" {
		return &FieldResultPostError{Status: resp.StatusCode, Body: string(body)}
	}
	return nil
}

// FieldResultPostError is a notification the receiver did not accept.
type FieldResultPostError struct {
	Status int
	Body   string
}

func (e *FieldResultPostError) Error() string {
	return fmt.Sprintf("notification refused: HTTP %d %q", e.Status, e.Body)
}

// FieldResultFile is one result file the fake exports.
type FieldResultFile struct {
	Path    string // slash-separated, relative to the export folder
	Content []byte
}

// FieldResultFiles makes n deterministic result files of about size bytes
// each (a CSV form export; size < 200 gives the bare CSV), spread over
// sub-folders when subdirs > 0 ("forms/01/...").
func FieldResultFiles(n, size, subdirs int) []FieldResultFile {
	out := make([]FieldResultFile, 0, n)
	for i := 0; i < n; i++ {
		var b bytes.Buffer
		fmt.Fprintf(&b, "EntryID;EventType;EmployeeNumber;Status;Notes\n")
		fmt.Fprintf(&b, "%d;FormSubmitted;E%03d;Closed;result %d\n", 100000+i, i%50, i)
		for line := 0; b.Len() < size; line++ {
			fmt.Fprintf(&b, "%d;FormField;E%03d;Value;row %d of file %d %s\n", 100000+i, i%50, line, i, strings.Repeat("x", 40))
		}
		if size >= 200 && b.Len() > size {
			b.Truncate(size)
		}
		name := fmt.Sprintf("result-%05d.csv", i)
		if subdirs > 0 {
			name = fmt.Sprintf("forms/%02d/%s", i%subdirs, name)
		}
		out = append(out, FieldResultFile{Path: name, Content: b.Bytes()})
	}
	return out
}

// FieldResultPut writes files into dir on t (atomically, replacing), the
// way OfficeTrack's exporter fills its export folder.
func FieldResultPut(ctx context.Context, t transports.Transport, dir string, files []FieldResultFile) error {
	for _, f := range files {
		p := f.Path
		if dir != "" && dir != "." {
			p = strings.TrimSuffix(dir, "/") + "/" + f.Path
		}
		if _, err := t.Write(ctx, p, bytes.NewReader(f.Content), transports.WriteOptions{Size: int64(len(f.Content))}); err != nil {
			return fmt.Errorf("fake OfficeTrack export %s: %w", p, err)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
