package mapping

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// NormalizeHeader reduces a header to what matters when matching columns:
// lower case, no accents, no spaces or punctuation, the ordinal signs º ª °
// dropped, and the words "de/da/do/dos/das" and "numero/num/no/nº/n" kept
// only as "n". So "Nº OS", "N° da OS" and "numero os" all become "nos".
func NormalizeHeader(s string) string {
	words := headerWords(s)
	var b strings.Builder
	for _, w := range words {
		b.WriteString(w)
	}
	return b.String()
}

var stopWords = map[string]bool{"de": true, "da": true, "do": true, "dos": true, "das": true, "del": true, "of": true, "the": true}

var numberWords = map[string]bool{"n": true, "no": true, "nº": true, "n°": true, "num": true, "numero": true, "nro": true, "nr": true, "number": true, "nu": true}

// headerWords splits a header into normalized words.
func headerWords(s string) []string {
	s = StripAccents(strings.ToLower(s))
	var words []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		w := cur.String()
		cur.Reset()
		switch {
		case stopWords[w]:
		case numberWords[w]:
			words = append(words, "n")
		default:
			words = append(words, w)
		}
	}
	for _, r := range s {
		switch {
		case r == 'º' || r == '°' || r == 'ª':
			// "nº" → "n": the sign ends the word.
			flush()
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return words
}

// latinBase maps the precomposed Latin letters U+00C0..U+024F to their
// base letter (0 when the letter has none, e.g. "ß"). It is filled once
// and never changed.
var latinBase = func() (t [0x250 - 0xC0]rune) {
	for r := rune(0xC0); r < 0x250; r++ {
		d := []rune(norm.NFD.String(string(r)))
		if len(d) > 1 && d[0] < 0x80 {
			ok := true
			for _, m := range d[1:] {
				if !unicode.Is(unicode.Mn, m) {
					ok = false
				}
			}
			if ok {
				t[r-0xC0] = d[0]
			}
		}
	}
	return t
}()

// StripAccents removes diacritics: "Número" → "Numero".
func StripAccents(s string) string {
	i := 0
	for i < len(s) && s[i] < 0x80 {
		i++
	}
	if i == len(s) {
		return s
	}
	// Fast path: Latin letters only.
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	fast := true
	for _, r := range s[i:] {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r >= 0xC0 && r < 0x250 && latinBase[r-0xC0] != 0:
			b.WriteRune(latinBase[r-0xC0])
		case r >= 0x300 && r < 0x370: // a combining mark
			fast = false
		default:
			b.WriteRune(r)
		}
		if !fast {
			break
		}
	}
	if fast {
		return b.String()
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return s
	}
	return out
}
