package results

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

func TestParseNotification(t *testing.T) {
	cases := []struct {
		name, doc string
		want      officetrack.Notification
		bad       bool
	}{
		{name: "fake", doc: officetracktest.FieldResultNotificationXML(officetracktest.FieldResultEvent{
			EventType: "TaskStatusChanged", EntryType: "Task", EntrySource: "Mobile", EntryID: "12345"}),
			want: officetrack.Notification{Root: "Notification", EventType: "TaskStatusChanged", EntryType: "Task", EntrySource: "Mobile", EntryID: "12345"}},
		{name: "namespaced, nested id, unknown elements", doc: `<?xml version="1.0" encoding="utf-8"?><n:Request xmlns:n="urn:x"><n:EventType> FormSubmitted </n:EventType><Form><FormId>77</FormId><Whatever a="1"><Deep/></Whatever></Form></n:Request>`,
			want: officetrack.Notification{Root: "Request", EventType: "FormSubmitted", EntryID: "77"}},
		{name: "latin1 declared", doc: `<?xml version="1.0" encoding="ISO-8859-1"?><a><EventType>X</EventType></a>`,
			want: officetrack.Notification{Root: "a", EventType: "X"}},
		{name: "no fields", doc: `<Anything/>`, want: officetrack.Notification{Root: "Anything"}},
		{name: "unclosed", doc: `<a><b></a>`, bad: true},
		{name: "text outside", doc: `<a/>junk`, bad: true},
		{name: "two roots", doc: `<a/><a/>`, bad: true},
		{name: "doctype", doc: `<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>`, bad: true},
		{name: "unknown entity", doc: `<a>&xxe;</a>`, bad: true},
		{name: "unknown encoding", doc: `<?xml version="1.0" encoding="ebcdic"?><a/>`, bad: true},
		{name: "too deep", doc: strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100), bad: true},
		{name: "blank", doc: "  \n", bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := officetrack.ParseNotification([]byte(c.doc))
			if c.bad {
				if !errors.Is(err, officetrack.ErrNotificationInvalid) {
					t.Fatalf("want ErrNotificationInvalid, got %v (%+v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
	big := "<a>" + strings.Repeat("x", officetrack.NotificationMaxBytes) + "</a>"
	if _, err := officetrack.ParseNotification([]byte(big)); !errors.Is(err, officetrack.ErrNotificationInvalid) {
		t.Fatalf("oversized: %v", err)
	}
}

// FuzzNotification: the parser never panics, and whatever it accepts
// gives a safe, bounded file name.
func FuzzNotification(f *testing.F) {
	f.Add(officetracktest.FieldResultNotificationXML(officetracktest.FieldResultEvent{
		EventType: "FormSubmitted", EntryType: "Form", EntrySource: "Mobile", EntryID: "1",
		Data: map[string]string{"k": "v & <w>"}}))
	f.Add(`<a><EventType>../../x</EventType><EntryID>/etc/passwd</EntryID></a>`)
	f.Add(`<?xml version="1.0" encoding="utf-16"?><N><EventType>É</EventType></N>`)
	f.Add(`<a><b>`)
	f.Add(`<!DOCTYPE a><a/>`)
	f.Add("<a>\x00</a>")
	f.Fuzz(func(t *testing.T, doc string) {
		n, err := officetrack.ParseNotification([]byte(doc))
		if err != nil {
			if !errors.Is(err, officetrack.ErrNotificationInvalid) {
				t.Fatalf("error not wrapping ErrNotificationInvalid: %v", err)
			}
			return
		}
		for _, v := range []string{n.EventType, n.EntryType, n.EntrySource, n.EntryID} {
			if len(v) > 256 {
				t.Fatalf("field of %d bytes", len(v))
			}
		}
		name := notificationFileName(n, time.Unix(0, 0), strings.Repeat("0", 64))
		if err := safeRel(name); err != nil || strings.ContainsAny(name, "/\\ ") || len(name) > 128 {
			t.Fatalf("unsafe name %q: %v", name, err)
		}
	})
}
