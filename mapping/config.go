package mapping

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// DefaultDateFormat is the date pattern OfficeTrack is known to accept.
const DefaultDateFormat = "yyyyMMddHHmm"

// DefaultTimezone is used when a mapping names none.
const DefaultTimezone = "America/Sao_Paulo"

// SheetRef names a sheet: by name ("Tarefas") or position (2, or "#2").
type SheetRef string

// UnmarshalTOML accepts a string or an integer position.
func (s *SheetRef) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		*s = SheetRef(v)
	case int64:
		if v < 1 {
			return fmt.Errorf("sheet position must be 1 or more, not %d", v)
		}
		*s = SheetRef("#" + strconv.FormatInt(v, 10))
	default:
		return fmt.Errorf("sheet must be a name or a position, not %T", v)
	}
	return nil
}

// Mapping is one saved column mapping: how the rows of a sheet become
// records of a target. One TOML file per mapping.
type Mapping struct {
	// Name identifies the mapping (default: the file name without .toml).
	Name string `toml:"name"`
	// Target is "officetrack-task" or "officetrack-poi".
	Target string `toml:"target"`
	// Sheet is the sheet to read: a name or a position (default the first).
	Sheet SheetRef `toml:"sheet"`
	// HeaderRow is the spreadsheet row holding the headers; 0 finds it
	// among the first rows (title rows above are skipped).
	HeaderRow int `toml:"header_row"`
	// Files are file-name globs ("tarefas_*.xlsx") that select this mapping.
	Files []string `toml:"files"`
	// Timezone is the IANA zone dates in the sheet are in (default America/Sao_Paulo).
	Timezone string `toml:"timezone"`
	// DateFormat is how dates are sent (default "yyyyMMddHHmm").
	DateFormat string `toml:"date_format"`
	// MonthFirst reads typed dates as mm/dd/yyyy instead of dd/mm/yyyy.
	MonthFirst bool `toml:"month_first"`
	// Fields maps target field names to where their values come from.
	Fields map[string]*FieldSpec `toml:"fields"`

	// File is the file the mapping was loaded from, Line the lines of keys.
	File   string            `toml:"-"`
	target *Target           `toml:"-"`
	loc    *time.Location    `toml:"-"`
	layout string            `toml:"-"`
	datef  *dateFormatter    `toml:"-"`
	lines  map[string]int    `toml:"-"`
	order  []string          `toml:"-"` // field names in target order
	spec   map[string]*field `toml:"-"`
}

// FieldSpec says where one target field's value comes from and how it is
// cleaned and checked. Exactly one of Column, Value and Template is set
// (or only Default).
type FieldSpec struct {
	// Column is the header of the source column; Aliases are other headers
	// accepted for it. Headers match ignoring case, accents, spaces and
	// punctuation.
	Column  string   `toml:"column"`
	Aliases []string `toml:"aliases"`
	// Columns is a second source column for a "latlng" field given as two
	// columns (latitude first, then longitude), e.g. ["Lat", "Long"].
	Columns []string `toml:"columns"`
	// Value is a fixed value for every row.
	Value *string `toml:"value"`
	// Template joins columns: "{Rua}, {Número} - {Bairro}".
	Template string `toml:"template"`
	// Type overrides the target field's type (e.g. "date" for a DateTime).
	Type Type `toml:"type"`
	// Transforms apply in order: trim, upper, lower, digits, collapse
	// (spaces), noaccents.
	Transforms []string `toml:"transforms"`
	// Map replaces values through a table (keys match ignoring case and accents).
	Map map[string]string `toml:"map"`
	// Default is used when the value is empty.
	Default *string `toml:"default"`
	// Required demands a value in every row (the target may already require it).
	Required bool `toml:"required"`
	// Pattern is a regular expression the final value must match entirely.
	Pattern string `toml:"pattern"`
	// OneOf lists the allowed values (matched ignoring case).
	OneOf []string `toml:"one_of"`
	// Min and Max bound numbers (and the length of text).
	Min *float64 `toml:"min"`
	Max *float64 `toml:"max"`
	// Unique demands distinct values within one file.
	Unique bool `toml:"unique"`
}

// field is a FieldSpec checked against its target field.
type field struct {
	name     string
	spec     *FieldSpec
	tf       Field
	typ      Type
	required bool
	unique   bool
	pattern  *regexp.Regexp
	oneOf    []string
	mapNorm  map[string]string
	headers  []string // normalized column header + aliases
	second   []string // normalized second column (latlng in two columns)
	tmpl     []tmplPart
	line     int
}

type tmplPart struct {
	lit    string
	header string // raw placeholder
	norm   string // normalized placeholder; "" for a literal
}

// LoadError lists every problem found in mapping files, each with its file
// and line.
type LoadError struct {
	Problems []FileProblem
}

// FileProblem is one problem in one mapping file.
type FileProblem struct {
	File string
	Line int
	Msg  string
}

func (p FileProblem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

func (e *LoadError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Set is the mappings of one folder, by name.
type Set struct {
	Dir      string
	Mappings []*Mapping // sorted by name
}

// Get returns the mapping with the given name (ignoring case).
func (s *Set) Get(name string) (*Mapping, bool) {
	for _, m := range s.Mappings {
		if strings.EqualFold(m.Name, name) {
			return m, true
		}
	}
	return nil, false
}

// Names lists the mappings' names.
func (s *Set) Names() []string {
	var out []string
	for _, m := range s.Mappings {
		out = append(out, m.Name)
	}
	return out
}

// LoadDir loads every *.toml file of dir. It returns a *LoadError listing
// every problem of every file (with file and line) if any file is wrong.
func LoadDir(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mappings folder: %w", err)
	}
	set := &Set{Dir: dir}
	var problems []FileProblem
	seen := map[string]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".toml") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		m, err := LoadFile(p)
		if err != nil {
			var le *LoadError
			if errors.As(err, &le) {
				problems = append(problems, le.Problems...)
			} else {
				problems = append(problems, FileProblem{File: p, Msg: err.Error()})
			}
			continue
		}
		key := strings.ToLower(m.Name)
		if other, dup := seen[key]; dup {
			problems = append(problems, FileProblem{File: p, Line: m.lines["name"], Msg: fmt.Sprintf("mapping name %q is already used by %s", m.Name, other)})
			continue
		}
		seen[key] = p
		set.Mappings = append(set.Mappings, m)
	}
	if len(problems) > 0 {
		return nil, &LoadError{Problems: problems}
	}
	sort.Slice(set.Mappings, func(i, j int) bool { return set.Mappings[i].Name < set.Mappings[j].Name })
	return set, nil
}

// LoadFile loads and checks one mapping file.
func LoadFile(p string) (*Mapping, error) {
	src, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if len(src) > 1<<20 {
		return nil, &LoadError{Problems: []FileProblem{{File: p, Msg: "mapping file larger than 1 MiB"}}}
	}
	return Parse(p, src)
}

// Parse reads a mapping from TOML text; name is used in messages and as
// the default mapping name.
func Parse(name string, src []byte) (*Mapping, error) {
	m := &Mapping{}
	md, err := toml.Decode(string(src), m)
	if err != nil {
		line := 0
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line = pe.Position.Line
			err = errors.New(pe.Message)
		}
		return nil, &LoadError{Problems: []FileProblem{{File: name, Line: line, Msg: err.Error()}}}
	}
	m.File = name
	m.lines = keyLines(src)
	var problems []FileProblem
	add := func(key string, format string, args ...any) {
		problems = append(problems, FileProblem{File: name, Line: m.lineOf(key), Msg: fmt.Sprintf(format, args...)})
	}
	for _, k := range md.Undecoded() {
		add(k.String(), "unknown key %q", k.String())
	}
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	targets := Targets()
	m.target = targets[m.Target]
	if m.Target == "" {
		add("", "target is missing; use one of %s", strings.Join(TargetNames(), ", "))
	} else if m.target == nil {
		add("target", "unknown target %q; use one of %s", m.Target, strings.Join(TargetNames(), ", "))
	}
	if m.HeaderRow < 0 {
		add("header_row", "header_row must be 0 (find it) or a row number")
	}
	for _, g := range m.Files {
		if _, err := path.Match(g, "x"); err != nil {
			add("files", "bad file pattern %q: %v", g, err)
		}
	}
	if m.Timezone == "" {
		m.Timezone = DefaultTimezone
	}
	if m.loc, err = time.LoadLocation(m.Timezone); err != nil {
		add("timezone", "unknown time zone %q", m.Timezone)
	}
	if m.DateFormat == "" {
		m.DateFormat = DefaultDateFormat
	}
	if m.layout, err = GoLayout(m.DateFormat); err != nil {
		add("date_format", "date_format %q: %v", m.DateFormat, err)
	}
	m.datef, _ = newDateFormatter(m.DateFormat)
	if len(m.Fields) == 0 {
		add("", "no [fields.<name>] tables: nothing would be sent")
	}
	if m.target != nil {
		m.spec = map[string]*field{}
		names := make([]string, 0, len(m.Fields))
		for n := range m.Fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			spec := m.Fields[n]
			key := "fields." + quoteKey(n)
			tf, ok := m.target.Field(n)
			if !ok {
				add(key, "%q is not a field of %s%s", n, m.Target, suggest(n, m.target))
				continue
			}
			if spec == nil {
				spec = &FieldSpec{}
			}
			f, errs := compileField(tf, spec)
			for _, e := range errs {
				add(key, "field %s: %s", tf.Name, e)
			}
			f.line = m.lineOf(key)
			m.spec[tf.Name] = f
		}
		// Fields filled by a latlng pseudo-field count as mapped.
		filled := map[string]bool{}
		for n, f := range m.spec {
			filled[n] = true
			if f.typ == LatLng {
				filled[f.tf.Pair[0]], filled[f.tf.Pair[1]] = true, true
			}
		}
		for n, f := range m.spec {
			if f.typ == LatLng && (m.spec[f.tf.Pair[0]] != nil || m.spec[f.tf.Pair[1]] != nil) {
				add("fields."+quoteKey(n), "field %s fills %s and %s; do not map them too", n, f.tf.Pair[0], f.tf.Pair[1])
			}
		}
		for _, tf := range m.target.Fields {
			if tf.Required && !filled[tf.Name] {
				add("", "required field %s of %s is not mapped; add [fields.%s] with a column, value or template", tf.Name, m.Target, quoteKey(tf.Name))
			}
			if m.spec[tf.Name] != nil {
				m.order = append(m.order, tf.Name)
			}
		}
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
		return nil, &LoadError{Problems: problems}
	}
	return m, nil
}

func quoteKey(k string) string {
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return strconv.Quote(k)
		}
	}
	return k
}

// suggest names the closest field, if any.
func suggest(name string, t *Target) string {
	n := strings.ToLower(name)
	best, bestD := "", 3
	for _, f := range t.Fields {
		if d := editDistance(n, strings.ToLower(f.Name)); d < bestD {
			best, bestD = f.Name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

var knownTransforms = map[string]bool{"trim": true, "upper": true, "lower": true, "digits": true, "collapse": true, "noaccents": true}

func compileField(tf Field, spec *FieldSpec) (*field, []string) {
	var errs []string
	f := &field{name: tf.Name, spec: spec, tf: tf, typ: tf.Type, required: tf.Required || spec.Required, unique: tf.Unique || spec.Unique}
	if spec.Type != "" {
		if !knownTypes[spec.Type] {
			errs = append(errs, fmt.Sprintf("unknown type %q", spec.Type))
		} else if !compatible(tf.Type, spec.Type) {
			errs = append(errs, fmt.Sprintf("type %q does not fit a %s field", spec.Type, tf.Type))
		} else {
			f.typ = spec.Type
		}
	}
	sources := 0
	if spec.Column != "" || len(spec.Columns) > 0 {
		sources++
	}
	if spec.Value != nil {
		sources++
	}
	if spec.Template != "" {
		sources++
	}
	if sources > 1 {
		errs = append(errs, "give only one of column, value and template")
	}
	if sources == 0 && spec.Default == nil {
		errs = append(errs, "give a column, a value, a template or a default")
	}
	if len(spec.Aliases) > 0 && spec.Column == "" {
		errs = append(errs, "aliases need a column")
	}
	if len(spec.Columns) > 0 {
		if f.typ != LatLng || len(spec.Columns) != 2 || spec.Column != "" {
			errs = append(errs, `columns = ["Lat", "Long"] is only for a latlng field given as two columns (and replaces column)`)
		} else {
			f.headers = []string{NormalizeHeader(spec.Columns[0])}
			f.second = []string{NormalizeHeader(spec.Columns[1])}
		}
	}
	if spec.Column != "" {
		f.headers = append(f.headers, NormalizeHeader(spec.Column))
		for _, a := range spec.Aliases {
			f.headers = append(f.headers, NormalizeHeader(a))
		}
		for _, h := range f.headers {
			if h == "" {
				errs = append(errs, "a column header has no letters or digits")
			}
		}
	}
	if spec.Template != "" {
		parts, err := parseTemplate(spec.Template)
		if err != nil {
			errs = append(errs, err.Error())
		}
		f.tmpl = parts
	}
	for _, t := range spec.Transforms {
		if !knownTransforms[strings.ToLower(t)] {
			errs = append(errs, fmt.Sprintf("unknown transform %q (use trim, upper, lower, digits, collapse, noaccents)", t))
		}
	}
	if len(spec.Map) > 0 {
		f.mapNorm = map[string]string{}
		for k, v := range spec.Map {
			f.mapNorm[normValue(k)] = v
		}
	}
	if spec.Pattern != "" {
		re, err := regexp.Compile("^(?:" + spec.Pattern + ")$")
		if err != nil {
			errs = append(errs, fmt.Sprintf("pattern: %v", err))
		}
		f.pattern = re
	}
	f.oneOf = tf.OneOf
	if len(spec.OneOf) > 0 {
		f.oneOf = spec.OneOf
		for _, v := range spec.OneOf {
			if len(tf.OneOf) > 0 && !containsFold(tf.OneOf, v) {
				errs = append(errs, fmt.Sprintf("one_of value %q is not accepted by %s (%s)", v, tf.Name, strings.Join(tf.OneOf, ", ")))
			}
		}
	}
	if spec.Min != nil && spec.Max != nil && *spec.Min > *spec.Max {
		errs = append(errs, "min is greater than max")
	}
	if spec.Value != nil && len(f.oneOf) > 0 && !containsFold(f.oneOf, *spec.Value) {
		errs = append(errs, fmt.Sprintf("value %q is not one of %s", *spec.Value, strings.Join(f.oneOf, ", ")))
	}
	if f.typ == LatLng && spec.Template != "" {
		errs = append(errs, "a latlng field takes a column (or columns), not a template")
	}
	return f, errs
}

func compatible(target, override Type) bool {
	if target == override {
		return true
	}
	switch target {
	case DateTime, Date:
		return override == Date || override == DateTime || override == Text
	case Text:
		return override != LatLng && override != Lat && override != Lng
	case Integer:
		return override == Text
	case Phone:
		return override == Text
	}
	return false
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func parseTemplate(s string) ([]tmplPart, error) {
	var parts []tmplPart
	for s != "" {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s, '}')
		if i < 0 {
			if j >= 0 {
				return nil, fmt.Errorf("template: '}' without '{'")
			}
			parts = append(parts, tmplPart{lit: s})
			break
		}
		if j >= 0 && j < i {
			return nil, fmt.Errorf("template: '}' without '{'")
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i]})
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("template: '{' without '}'")
		}
		h := s[i+1 : i+end]
		if NormalizeHeader(h) == "" {
			return nil, fmt.Errorf("template: empty column name in {%s}", h)
		}
		parts = append(parts, tmplPart{header: h, norm: NormalizeHeader(h)})
		s = s[i+end+1:]
	}
	return parts, nil
}

// lineOf returns the line of a dotted key ("fields.TaskNumber.column"),
// or of its closest parent.
func (m *Mapping) lineOf(key string) int {
	for key != "" {
		if l, ok := m.lines[key]; ok {
			return l
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			break
		}
		// Do not split inside a quoted part.
		if q := strings.LastIndexByte(key, '"'); q > i {
			i = strings.LastIndexByte(key[:strings.IndexByte(key, '"')], '.')
			if i < 0 {
				break
			}
		}
		key = key[:i]
	}
	return 0
}

// keyLines finds the line of every table header and key assignment in a
// TOML text, as dotted keys with quoted parts in TOML syntax
// (fields."Location.X".column). It is a light scanner, good for messages.
func keyLines(src []byte) map[string]int {
	out := map[string]int{}
	table := ""
	inMulti := ""
	for i, raw := range strings.Split(string(src), "\n") {
		line := strings.TrimSpace(raw)
		if inMulti != "" {
			if strings.Contains(line, inMulti) {
				inMulti = ""
			}
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			h := strings.Trim(line, "[]")
			if k := strings.IndexByte(h, ']'); k >= 0 {
				h = h[:k]
			}
			table = canonKey(h)
			if _, ok := out[table]; !ok {
				out[table] = i + 1
			}
			continue
		}
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			continue
		}
		k := canonKey(line[:eq])
		full := k
		if table != "" {
			full = table + "." + k
		}
		if _, ok := out[full]; !ok {
			out[full] = i + 1
		}
		rest := line[eq+1:]
		for _, q := range []string{`"""`, `'''`} {
			if strings.Count(rest, q) == 1 {
				inMulti = q
			}
		}
		// Inline tables: fields = { X = { column = "..." } } are rare; the
		// line of the whole assignment is used.
	}
	return out
}

// canonKey rewrites a TOML key path as BurntSushi's Key.String() does:
// bare parts as they are, parts needing quotes in double quotes.
func canonKey(s string) string {
	var parts []string
	s = strings.TrimSpace(s)
	for s != "" {
		s = strings.TrimLeft(s, " \t.")
		if s == "" {
			break
		}
		var part string
		switch s[0] {
		case '"':
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				part, s = s[1:], ""
			} else {
				part, s = s[1:1+end], s[end+2:]
			}
			if u, err := strconv.Unquote(`"` + part + `"`); err == nil {
				part = u
			}
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				part, s = s[1:], ""
			} else {
				part, s = s[1:1+end], s[end+2:]
			}
		default:
			end := strings.IndexAny(s, ". \t")
			if end < 0 {
				part, s = s, ""
			} else {
				part, s = s[:end], s[end:]
			}
		}
		parts = append(parts, quoteKey(part))
	}
	return strings.Join(parts, ".")
}

// Target returns the mapping's target.
func (m *Mapping) TargetInfo() *Target { return m.target }

// Location returns the time zone of the sheet's dates.
func (m *Mapping) Location() *time.Location { return m.loc }

// FieldNames lists the target fields the mapping fills, in target order.
func (m *Mapping) FieldNames() []string { return append([]string(nil), m.order...) }

// ColumnOf returns the column header a target field is read from, as the
// mapping names it ("" for a field filled by a template or a default).
func (m *Mapping) ColumnOf(fieldName string) string {
	f, ok := m.spec[fieldName]
	if !ok || f.spec == nil {
		return ""
	}
	if f.spec.Column != "" {
		return f.spec.Column
	}
	if len(f.spec.Columns) > 0 {
		return strings.Join(f.spec.Columns, "/")
	}
	return ""
}

// MatchesFile reports whether a file name matches one of the mapping's
// globs (case-insensitive).
func (m *Mapping) MatchesFile(name string) bool {
	base := strings.ToLower(filepath.Base(name))
	for _, g := range m.Files {
		if ok, _ := path.Match(strings.ToLower(g), base); ok {
			return true
		}
	}
	return false
}

func normValue(s string) string {
	return strings.Join(strings.Fields(StripAccents(strings.ToLower(s))), " ")
}
