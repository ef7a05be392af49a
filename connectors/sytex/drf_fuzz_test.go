package sytex

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDRFMessage(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"code": ["This field is required."], "ne_type": ["Invalid pk \"9\" - object does not exist."]}`,
			`code: This field is required.; ne_type: Invalid pk "9" - object does not exist.`},
		{`{"non_field_errors": ["The fields code, organization must make a unique set."]}`,
			"The fields code, organization must make a unique set."},
		{`{"detail": "Invalid token."}`, "Invalid token."},
		{`{"networkelementcoordinates_set": [{}, {"latitude": ["A valid number is required."]}]}`,
			"networkelementcoordinates_set[1].latitude: A valid number is required."},
		{`["Something went wrong."]`, "Something went wrong."},
		{`<html><body>Bad gateway</body></html>`, ""},
		{`plain text`, "plain text"},
	}
	for _, tt := range tests {
		got, _ := drfMessage(400, []byte(tt.body))
		if got != tt.want {
			t.Errorf("drfMessage(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func FuzzDRFMessage(f *testing.F) {
	for _, s := range []string{`{"code": ["x"]}`, `{"a": {"b": [{"c": ["d"]}]}}`, `[1, "x", null]`, `{"detail": 5}`, `"str"`, `null`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		msg, fields := drfMessage(400, []byte(body))
		if utf8.ValidString(body) && !utf8.ValidString(msg) && !strings.Contains(body, `\u`) {
			t.Fatalf("invalid UTF-8 message %q from %q", msg, body)
		}
		for k, v := range fields {
			if len(v) == 0 {
				t.Fatalf("field %q without messages", k)
			}
		}
	})
}

func FuzzNetworkElementJSON(f *testing.F) {
	for _, s := range []string{
		`{"id": 5, "code": "CTO-1", "ne_type": {"id": 12, "name": "CTO"}, "networkelementcoordinates_set": [{"latitude": "-23.5", "longitude": -46.6}]}`,
		`{"id": "7", "code": null, "ne_type": "12"}`, `{}`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ne NetworkElement
		_ = ne.UnmarshalJSON([]byte(s))
	})
}
