package mapping

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// defaultSynonymFiles are the synonym tables shipped with the bridge, one
// file per language.
//
//go:embed synonyms/*.toml
var defaultSynonymFiles embed.FS

// SynonymsDir is the subfolder of a mappings folder where a customer's own
// synonym files (same form as mapping/synonyms/*.toml) extend the defaults.
const SynonymsDir = "synonyms"

// Synonyms are the header words that name each target field, per
// language, as read from synonym files: what Draft matches a sheet's
// headers against. The zero value has no synonyms; use DefaultSynonyms or
// LoadSynonyms.
type Synonyms struct {
	langs []*synLang
}

// synLang is one language's table (the defaults and every customer file
// naming that language, merged).
type synLang struct {
	name   string
	abbrev map[string][]string             // a normalised word → the words it stands for
	fields map[string]map[string][]synonym // target → field → phrases
}

// synonym is one phrase, normalised into words.
type synonym struct {
	text  string // as written in the file
	words []string
}

// synFile is the form of a synonym file.
type synFile struct {
	Language      string              `toml:"language"`
	Abbreviations map[string]string   `toml:"abbreviations"`
	Task          map[string][]string `toml:"officetrack-task"`
	POI           map[string][]string `toml:"officetrack-poi"`
}

// DefaultSynonyms returns the embedded tables (pt-BR, es, en).
func DefaultSynonyms() (*Synonyms, error) {
	s := &Synonyms{}
	names, err := fs.Glob(defaultSynonymFiles, "synonyms/*.toml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := defaultSynonymFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		if err := s.add(path.Base(n), data); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// LoadSynonyms returns the default tables extended by every *.toml file of
// dir (a mappings folder's synonyms/ subfolder; a missing folder adds
// nothing). Errors name the file and the line or field.
func LoadSynonyms(dir string) (*Synonyms, error) {
	s, err := DefaultSynonyms()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("synonyms folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".toml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if len(data) > 1<<20 {
			return nil, fmt.Errorf("%s: synonym file larger than 1 MiB", p)
		}
		if err := s.add(p, data); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// add merges one synonym file.
func (s *Synonyms) add(name string, data []byte) error {
	var f synFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return fmt.Errorf("%s: unknown key %q (use language, [abbreviations], [officetrack-task] and [officetrack-poi])", name, und[0].String())
	}
	if f.Language == "" {
		return fmt.Errorf("%s: language is missing (e.g. language = \"pt-BR\")", name)
	}
	var l *synLang
	for _, have := range s.langs {
		if strings.EqualFold(have.name, f.Language) {
			l = have
		}
	}
	if l == nil {
		l = &synLang{name: f.Language, abbrev: map[string][]string{}, fields: map[string]map[string][]synonym{}}
		s.langs = append(s.langs, l)
	}
	for k, v := range f.Abbreviations {
		kw := headerWords(k)
		if len(kw) != 1 {
			return fmt.Errorf("%s: abbreviation %q must be one word", name, k)
		}
		l.abbrev[kw[0]] = headerWords(v)
	}
	targets := Targets()
	for tname, fields := range map[string]map[string][]string{TargetTask: f.Task, TargetPOI: f.POI} {
		t := targets[tname]
		for field, phrases := range fields {
			tf, ok := t.Field(field)
			if !ok {
				hint := ""
				if sg := suggest(field, t); sg != "" {
					hint = fmt.Sprintf("; did you mean %q?", sg)
				}
				return fmt.Errorf("%s: [%s] has no field %q%s", name, tname, field, hint)
			}
			if l.fields[tname] == nil {
				l.fields[tname] = map[string][]synonym{}
			}
			for _, p := range phrases {
				w := headerWords(p)
				if len(w) == 0 {
					return fmt.Errorf("%s: [%s] %s: empty synonym %q", name, tname, field, p)
				}
				l.fields[tname][tf.Name] = append(l.fields[tname][tf.Name], synonym{text: p, words: w})
			}
		}
	}
	return nil
}

// Languages lists the languages of the tables.
func (s *Synonyms) Languages() []string {
	var out []string
	for _, l := range s.langs {
		out = append(out, l.name)
	}
	return out
}

// headerMatch is how well a header names a field.
type headerMatch struct {
	score float64
	lang  string
	text  string // the synonym matched
}

// match returns the best synonym of field for a header's words, in each
// language weighted by weight(lang).
func (s *Synonyms) match(target, field string, words []string, weight func(string) float64) headerMatch {
	var best headerMatch
	for _, l := range s.langs {
		syns := l.fields[target][field]
		if len(syns) == 0 {
			continue
		}
		alts := [][]string{words}
		if ini := initialism(words); ini != nil {
			alts = append(alts, ini)
		}
		for _, a := range alts {
			if ex := l.expand(a); ex != nil {
				alts = append(alts, ex)
				break
			}
		}
		w := weight(l.name)
		for _, syn := range syns {
			for _, hw := range alts {
				if sc := phraseScore(hw, syn.words) * w; sc > best.score {
					best = headerMatch{score: sc, lang: l.name, text: syn.text}
				}
			}
		}
	}
	return best
}

// expand replaces abbreviations in words by what they stand for (nil when
// none applies).
func (l *synLang) expand(words []string) []string {
	var out []string
	changed := false
	for _, w := range words {
		if ex, ok := l.abbrev[w]; ok {
			out = append(out, ex...)
			changed = true
			continue
		}
		out = append(out, w)
	}
	if !changed {
		return nil
	}
	return out
}

// initialism joins a run of one-letter words ("C.P." → "cp"), or nil.
func initialism(words []string) []string {
	var out []string
	run := ""
	changed := false
	for _, w := range append(words, "") {
		if len(w) == 1 && w != "n" {
			run += w
			continue
		}
		if len(run) > 1 {
			changed = true
		}
		if run != "" {
			out = append(out, run)
			run = ""
		}
		if w != "" {
			out = append(out, w)
		}
	}
	if !changed {
		return nil
	}
	return out
}

// genericWords name no field by themselves: a synonym made only of them
// must be the whole header to count fully ("Número" is a house number,
// "Número do pedido" is not).
var genericWords = map[string]bool{"n": true, "codigo": true, "id": true, "data": true, "fecha": true, "date": true,
	"tipo": true, "type": true, "nome": true, "nombre": true, "name": true, "code": true}

// phraseScore compares a header's words h with a synonym's words s: 1 when
// they are the same words, about 0.6-0.95 when the header holds every
// word of the synonym and more, little otherwise.
func phraseScore(h, s []string) float64 {
	if len(h) == 0 || len(s) == 0 {
		return 0
	}
	used := make([]bool, len(h))
	m := 0
	for _, sw := range s {
		for i, hw := range h {
			if !used[i] && wordEq(hw, sw) {
				used[i] = true
				m++
				break
			}
		}
	}
	switch {
	case m == 0:
		return 0
	case m == len(s) && len(s) == len(h):
		return 1
	case m == len(s):
		generic := true
		for _, w := range s {
			if !genericWords[w] {
				generic = false
			}
		}
		if generic {
			return 0.4
		}
		return 0.6 + 0.35*float64(len(s))/float64(len(h))
	}
	return 0.5 * float64(m) / float64(len(s)) * float64(m) / float64(len(h))
}

// wordEq reports whether two normalised words are the same word: equal,
// the same once plural endings are removed, or one an abbreviation (a
// prefix of at least four letters and half the word) of the other.
func wordEq(a, b string) bool {
	if a == b {
		return true
	}
	sa, sb := stem(a), stem(b)
	if sa == sb || sa == b || a == sb || strings.TrimSuffix(a, "s") == b || a == strings.TrimSuffix(b, "s") {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 4 && 2*len(a) >= len(b) && strings.HasPrefix(b, a)
}

// stem removes the plural endings of Portuguese, Spanish and English.
func stem(w string) string {
	for _, e := range [][2]string{{"coes", "cao"}, {"oes", "ao"}, {"ais", "al"}, {"eis", "el"}, {"ies", "y"}, {"es", ""}, {"s", ""}} {
		if len(w) > len(e[0])+2 && strings.HasSuffix(w, e[0]) {
			return w[:len(w)-len(e[0])] + e[1]
		}
	}
	return w
}
