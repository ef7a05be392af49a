package fortics_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/connectors/fortics"
)

// FuzzServe sends arbitrary bodies and queries: every answer must be a JSON
// object with a known status and the usual keys, never a panic.
func FuzzServe(f *testing.F) {
	seeds := []struct{ ctype, query, body string }{
		{"application/json", "token=" + token, `{"lat": -27.576, "lng": -48.527}`},
		{"application/json", "token=" + token, `{"location": {"latitude": "-27,5", "longitude": "-48,5"}}`},
		{"application/x-www-form-urlencoded", "token=" + token, "coords=-27.5%2C-48.5"},
		{"text/plain", "token=" + token, "lat=-27.5&lng=-48.5"},
		{"multipart/form-data; boundary=x", "token=" + token, "--x\r\nContent-Disposition: form-data; name=\"lat\"\r\n\r\n-27\r\n--x--\r\n"},
		{"", "token=" + token + "&link=https://www.google.com/maps/@-27.5,-48.5,17z", ""},
		{"application/json", "", `{"token": "` + token + `", "address": "Rua X"}`},
		{"application/json", "token=" + token, `[1,2]`},
	}
	for _, s := range seeds {
		f.Add(s.ctype, s.query, s.body)
	}
	h, err := fortics.New(fortics.Options{Network: newStub(), Token: token, RateLimit: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ctype, query, body string) {
		req := httptest.NewRequest("POST", "/fortics/viability", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Fatalf("content type %q", ct)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %v %q", err, rec.Body.String())
		}
		if len(m) != len(answerKeys) {
			t.Fatalf("keys %v", m)
		}
		switch m["status"] {
		case "found", "not_found", "no_viability", "invalid_request", "unauthorized":
		default:
			t.Fatalf("status %v (HTTP %d)", m["status"], rec.Code)
		}
	})
}
