package officetrack

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Limits for Client Notification System documents (ParseNotification).
const (
	// NotificationMaxBytes is the default size limit of a notification's
	// RequestString (1 MiB); receivers should bound the HTTP body a little
	// above it.
	NotificationMaxBytes = 1 << 20
	// NotificationMaxDepth is the deepest element nesting accepted.
	NotificationMaxDepth = 64
	// NotificationMaxElements is the largest number of elements accepted.
	NotificationMaxElements = 100_000
	// notificationMaxField is the longest value kept for a known field.
	notificationMaxField = 256
)

// ErrNotificationInvalid is wrapped by every error of ParseNotification:
// the RequestString is not a well-formed, acceptable XML document.
var ErrNotificationInvalid = errors.New("invalid OfficeTrack notification")

// Notification is what the bridge reads from one OfficeTrack Client
// Notification System post (the XML document in the RequestString form
// field). Only the fields the bridge uses to name and route the
// notification are extracted; everything else in the document is kept
// opaque — the receiver stores the document as it came.
type Notification struct {
	// Root is the name of the document's root element.
	Root string
	// EventType is the event that caused the post (e.g. "TaskStatusChanged",
	// "FormSubmitted"); empty when the document has none.
	EventType string
	// EntryType is the kind of entry the event is about ("Task", "Form", ...).
	EntryType string
	// EntrySource is where the entry came from ("Mobile", "Web", ...).
	EntrySource string
	// EntryID identifies the entry: the first of EntryID, EntryId, EntryNumber,
	// TaskNumber, FormID, FormId, ID, Id found in the document.
	EntryID string
}

// entryIDElements are the element names tried for Notification.EntryID,
// best first.
var entryIDElements = []string{"EntryID", "EntryId", "EntryNumber", "TaskNumber", "FormID", "FormId", "ID", "Id"}

// ParseNotification checks that doc is one well-formed XML document within
// the limits above (size NotificationMaxBytes, nesting, element count, no
// DOCTYPE) and extracts the fields of Notification. The first element with
// a known name wins, at any depth; its text (trimmed, at most 256 bytes) is
// the value. Element names are matched without their namespace prefix.
// The XML declaration may name UTF-8, UTF-16 (as .NET writes for strings
// that were already decoded), US-ASCII, ISO-8859-1 or Windows-1252.
func ParseNotification(doc []byte) (Notification, error) {
	var n Notification
	if len(doc) > NotificationMaxBytes {
		return n, fmt.Errorf("%w: %d bytes, more than the limit of %d", ErrNotificationInvalid, len(doc), NotificationMaxBytes)
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return n, fmt.Errorf("%w: empty document", ErrNotificationInvalid)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	d.CharsetReader = notificationCharset

	found := map[string]string{}
	want := map[string]bool{"EventType": true, "EntryType": true, "EntrySource": true}
	for _, e := range entryIDElements {
		want[e] = true
	}
	var (
		depth, elements int
		rootDone        bool
		capture         string // known element whose text is being read
		captureDepth    int
		text            strings.Builder
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%w: not well-formed XML: %w", ErrNotificationInvalid, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if rootDone {
				return n, fmt.Errorf("%w: more than one root element (second one <%s>)", ErrNotificationInvalid, t.Name.Local)
			}
			depth++
			elements++
			if depth > NotificationMaxDepth {
				return n, fmt.Errorf("%w: elements nested deeper than %d", ErrNotificationInvalid, NotificationMaxDepth)
			}
			if elements > NotificationMaxElements {
				return n, fmt.Errorf("%w: more than %d elements", ErrNotificationInvalid, NotificationMaxElements)
			}
			if depth == 1 {
				n.Root = t.Name.Local
			}
			if capture == "" && want[t.Name.Local] {
				if _, seen := found[t.Name.Local]; !seen {
					capture, captureDepth = t.Name.Local, depth
					text.Reset()
				}
			}
		case xml.EndElement:
			if capture != "" && depth == captureDepth {
				found[capture] = clip(strings.TrimSpace(text.String()))
				capture = ""
			}
			depth--
			if depth == 0 {
				rootDone = true
			}
		case xml.CharData:
			if depth == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return n, fmt.Errorf("%w: text outside the root element", ErrNotificationInvalid)
				}
				continue
			}
			if capture != "" && depth == captureDepth && text.Len() <= notificationMaxField {
				text.Write(t)
			}
		case xml.Directive:
			return n, fmt.Errorf("%w: DOCTYPE and other directives are not accepted", ErrNotificationInvalid)
		}
	}
	if !rootDone {
		return n, fmt.Errorf("%w: no root element", ErrNotificationInvalid)
	}
	n.EventType = found["EventType"]
	n.EntryType = found["EntryType"]
	n.EntrySource = found["EntrySource"]
	for _, e := range entryIDElements {
		if v := found[e]; v != "" {
			n.EntryID = v
			break
		}
	}
	return n, nil
}

// clip cuts s to at most notificationMaxField bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= notificationMaxField {
		return s
	}
	s = s[:notificationMaxField]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// notificationCharset accepts the encodings a RequestString may declare.
// The form value has already been decoded to text, so "utf-16" declared by
// .NET's XmlDocument.OuterXml is read as it is.
func notificationCharset(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "utf-16", "utf16", "unicode", "us-ascii", "ascii":
		return r, nil
	case "iso-8859-1", "latin1", "iso8859-1":
		return charmap.ISO8859_1.NewDecoder().Reader(r), nil
	case "windows-1252", "cp1252":
		return charmap.Windows1252.NewDecoder().Reader(r), nil
	}
	return nil, fmt.Errorf("encoding %q is not supported", label)
}
