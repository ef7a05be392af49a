// Package web is the kit of the clerk's import pages (/import/): the page
// layout, its stylesheet and script, the page languages (pt-BR, es, en)
// and their texts. The pages are rendered on the server; the script only
// adds drag and drop, editing a cell in place and live progress, and every
// page works without it. Nothing is fetched from elsewhere at run time, and
// the pages have no inline script or style, so they run under
//
//	default-src 'self'; img-src 'self' data:; frame-ancestors 'none'
//
// The bridge package serves the login page, the index and the assets; job
// kinds (bridge/sheets) serve their own pages with Parse and Render.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
)

//go:embed assets
var files embed.FS

// AssetPath is where the bridge serves Assets.
const AssetPath = "/import/static/"

// Assets are the pages' static files: import.css and import.js.
func Assets() fs.FS {
	sub, _ := fs.Sub(files, "assets")
	return sub
}

// Page is what every page's template gets: {{.T "key"}} translates,
// {{.Data}} is the page's own data.
type Page struct {
	Lang  string
	Title string
	// User is the signed-in user's name ("" on the login page).
	User string
	// Operator adds a link to the operator's status page.
	Operator bool
	// CSRF is the session's token, to put in every form (field "csrf").
	CSRF    string
	Texts   Catalog
	Data    any
	Version string
}

// T translates key into the page's language.
func (p Page) T(key string, args ...any) string { return p.Texts.T(p.Lang, key, args...) }

// Languages lists the page languages for the language switch.
func (p Page) Languages() []string { return supported }

const layout = `{{define "layout"}}<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · fieldbridge</title>
<link rel="stylesheet" href="/import/static/import.css?v={{.Version}}">
<script src="/import/static/import.js?v={{.Version}}" defer></script>
</head><body data-lang="{{.Lang}}" data-csrf="{{.CSRF}}">
<header class="top"><a class="brand" href="/import/">fieldbridge · {{.T "app"}}</a>
<nav>{{if .User}}<span class="who">{{.T "signed_in_as" .User}}</span>
{{if .Operator}}<a href="/">{{.T "status_page"}}</a>{{end}}
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit" class="link" id="logout">{{.T "logout"}}</button></form>{{end}}
<span class="langs">{{$cur := .Lang}}{{range .Languages}}<a href="?lang={{.}}"{{if eq . $cur}} class="cur"{{end}}>{{.}}</a> {{end}}</span></nav></header>
<main>{{template "content" .}}</main></body></html>{{end}}`

// Parse makes a page template: content defines {{define "content"}}; the
// layout around it is this package's. funcs may add template functions.
func Parse(name, content string, funcs template.FuncMap) *template.Template {
	t := template.New(name).Funcs(template.FuncMap{
		"col": func(i int) string { return columnName(i + 1) },
		"inc": func(i int) int { return i + 1 },
	})
	if funcs != nil {
		t = t.Funcs(funcs)
	}
	template.Must(t.Parse(layout))
	return template.Must(t.Parse(content))
}

// Render writes the page with status code, with the headers every page
// gets: no caching, a strict content security policy, no framing.
func Render(w http.ResponseWriter, code int, t *template.Template, p Page) error {
	if p.Version == "" {
		p.Version = assetVersion()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "page error", http.StatusInternalServerError)
		return err
	}
	SecureHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, err := w.Write(buf.Bytes())
	return err
}

// SecureHeaders sets the headers of every import page and its data.
func SecureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// assetVersion is a digest of the assets, so that browsers fetch them
// again when they change (and every node of a cluster gives the same).
var assetVersion = sync.OnceValue(func() string {
	h := sha256.New()
	fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := files.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
})

// columnName is a spreadsheet column's letters: 1 → "A", 27 → "AA".
func columnName(n int) string {
	var b []byte
	for n > 0 {
		n--
		b = append([]byte{byte('A' + n%26)}, b...)
		n /= 26
	}
	return string(b)
}
