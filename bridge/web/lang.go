package web

import (
	"net/http"

	"golang.org/x/text/language"
)

// Languages of the pages, as the config's language key spells them.
const (
	LangPT = "pt-BR"
	LangES = "es"
	LangEN = "en"
)

var (
	supported = []string{LangPT, LangES, LangEN}
	matcher   = language.NewMatcher([]language.Tag{language.BrazilianPortuguese, language.Spanish, language.English})
)

// Negotiate picks a page's language: the "lang" query parameter or cookie
// when it names a supported language, then the user's own (pref), then
// the browser's Accept-Language, then fallback (the config's language).
func Negotiate(r *http.Request, pref, fallback string) string {
	if l := Supported(r.URL.Query().Get("lang")); l != "" {
		return l
	}
	if c, err := r.Cookie("fb_lang"); err == nil {
		if l := Supported(c.Value); l != "" {
			return l
		}
	}
	if l := Supported(pref); l != "" {
		return l
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := matcher.Match(tags...)
			if conf != language.No {
				return supported[i]
			}
		}
	}
	if l := Supported(fallback); l != "" {
		return l
	}
	return LangPT
}

// Supported returns the supported spelling of l ("pt-BR", "es", "en") or
// "" when l is none of them. It accepts "pt", "pt-br", "es-CL", "en-US".
func Supported(l string) string {
	if l == "" {
		return ""
	}
	t, err := language.Parse(l)
	if err != nil {
		return ""
	}
	base, _ := t.Base()
	switch base.String() {
	case "pt":
		return LangPT
	case "es":
		return LangES
	case "en":
		return LangEN
	}
	return ""
}
