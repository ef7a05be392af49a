package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, query, cookie, pref, accept, fallback, want string
	}{
		{"query wins", "es", "en", "en", "en-US", "pt-BR", LangES},
		{"cookie", "", "en", "es", "pt-BR", "pt-BR", LangEN},
		{"user's", "", "", "es", "en-US", "pt-BR", LangES},
		{"browser's", "", "", "", "es-CL,es;q=0.9,en;q=0.5", "pt-BR", LangES},
		{"browser's english", "", "", "", "en-GB", "pt-BR", LangEN},
		{"unknown browser language", "", "", "", "de-DE", "es", LangES},
		{"nothing", "", "", "", "", "", LangPT},
		{"bad query ignored", "xx", "", "", "", "en", LangEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/import/?lang="+tt.query, nil)
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "fb_lang", Value: tt.cookie})
			}
			if tt.accept != "" {
				r.Header.Set("Accept-Language", tt.accept)
			}
			if got := Negotiate(r, tt.pref, tt.fallback); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderHeadersAndTexts(t *testing.T) {
	tpl := Parse("t", `{{define "content"}}<p id="x">{{.T "logout"}} {{.Data}}</p>{{end}}`, nil)
	w := httptest.NewRecorder()
	if err := Render(w, 200, tpl, Page{Lang: LangES, Texts: Texts, Data: "<script>", User: "ana", CSRF: "tok"}); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if !strings.Contains(body, `<p id="x">Salir &lt;script&gt;</p>`) {
		t.Fatalf("body:\n%s", body)
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "default-src 'self'") || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: %v", w.Header())
	}
	if strings.Contains(body, "<script>") && !strings.Contains(body, `<script src="/import/static/import.js`) {
		t.Fatal("inline script on the page")
	}
	if got := Texts.T(LangEN, "no-such-key"); got != "no-such-key" {
		t.Fatalf("a missing text gave %q", got)
	}
}
