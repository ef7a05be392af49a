package boxsync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
	"github.com/fieldbridge/fieldbridge/connectors/sytex"
)

// Placeholders a template may use.
var placeholders = map[string]func(b *ozmap.Box, p ozmap.Project) string{
	"name":               func(b *ozmap.Box, _ ozmap.Project) string { return b.Name },
	"id":                 func(b *ozmap.Box, _ ozmap.Project) string { return b.ID },
	"project":            func(b *ozmap.Box, _ ozmap.Project) string { return b.Project },
	"project_name":       func(_ *ozmap.Box, p ozmap.Project) string { return p.Name },
	"project_identifier": func(_ *ozmap.Box, p ozmap.Project) string { return p.Identifier },
	"box_type":           func(b *ozmap.Box, _ ozmap.Project) string { return b.BoxType },
	"address":            func(b *ozmap.Box, _ ozmap.Project) string { return b.Address },
	"observation":        func(b *ozmap.Box, _ ozmap.Project) string { return b.Observation },
	"external_id":        func(b *ozmap.Box, _ ozmap.Project) string { return b.ExternalID },
	"hierarchy_level":    func(b *ozmap.Box, _ ozmap.Project) string { return strconv.Itoa(b.HierarchyLevel) },
}

// template is a parsed text with {placeholders}.
type template struct {
	parts []tplPart
	// needsProject is true when the template uses project names.
	needsProject bool
	// usesName is true when the template uses {name}.
	usesName bool
}

type tplPart struct {
	lit string
	ph  func(b *ozmap.Box, p ozmap.Project) string
}

// parseTemplate parses text; key names the option for errors.
func parseTemplate(key, text string) (template, error) {
	var t template
	rest := text
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, tplPart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("%s: %q has a { without }", key, text)
		}
		name := rest[i+1 : i+j]
		f, ok := placeholders[name]
		if !ok {
			names := make([]string, 0, len(placeholders))
			for n := range placeholders {
				names = append(names, "{"+n+"}")
			}
			sort.Strings(names)
			return t, fmt.Errorf("%s: unknown placeholder {%s} (use %s)", key, name, strings.Join(names, ", "))
		}
		if name == "name" {
			t.usesName = true
		}
		if strings.HasPrefix(name, "project_") {
			t.needsProject = true
		}
		t.parts = append(t.parts, tplPart{ph: f})
		rest = rest[i+j+1:]
	}
	return t, nil
}

func (t template) render(b *ozmap.Box, p ozmap.Project) string {
	var sb strings.Builder
	for _, part := range t.parts {
		if part.ph != nil {
			sb.WriteString(part.ph(b, p))
		} else {
			sb.WriteString(part.lit)
		}
	}
	return strings.TrimSpace(sb.String())
}

// mapping turns a box into the network element it should be in Sytex.
type mapping struct {
	code, name, desc template
	types            map[string]int64
	defaultType      int64
	coordName        string
}

// mapError is a box that cannot be mapped; msgKey picks the message.
type mapError struct {
	key  string
	args []any
}

func (e *mapError) Error() string { return fmt.Sprint(e.key, e.args) }

func (m *mapping) element(b *ozmap.Box, p ozmap.Project) (sytex.NetworkElement, error) {
	ne := sytex.NetworkElement{
		Code:        m.code.render(b, p),
		Name:        m.name.render(b, p),
		Description: m.desc.render(b, p),
	}
	if ne.Code == "" || (m.code.usesName && strings.TrimSpace(b.Name) == "") {
		return ne, &mapError{key: msgNoCode}
	}
	ne.NEType = m.types[b.BoxType]
	if ne.NEType == 0 {
		ne.NEType = m.defaultType
	}
	if ne.NEType == 0 {
		return ne, &mapError{key: msgNoType, args: []any{b.BoxType}}
	}
	if b.Lat != 0 || b.Lng != 0 {
		ne.Coordinates = []sytex.Coordinate{{Name: m.coordName, Latitude: round7(b.Lat), Longitude: round7(b.Lng)}}
	}
	return ne, nil
}

func round7(f float64) float64 { return math.Round(f*1e7) / 1e7 }

// Field hashes. An item's ledger hash is "c=<h> n=<h> d=<h> t=<h> g=<h>":
// one short hash per field of the element last stored in Sytex, so that an
// update patches only the fields that changed without asking Sytex first.
const (
	fCode   = "c"
	fName   = "n"
	fDesc   = "d"
	fType   = "t"
	fCoords = "g"
)

var fieldOrder = []string{fCode, fName, fDesc, fType, fCoords}

func short(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// hashElement returns the field-hash string of ne.
func hashElement(ne sytex.NetworkElement) string {
	var coords strings.Builder
	for _, c := range ne.Coordinates {
		fmt.Fprintf(&coords, "%s|%.7f|%.7f;", c.Name, c.Latitude, c.Longitude)
	}
	v := map[string]string{
		fCode:   short(ne.Code),
		fName:   short(ne.Name),
		fDesc:   short(ne.Description),
		fType:   strconv.FormatInt(ne.NEType, 10),
		fCoords: short(coords.String()),
	}
	parts := make([]string, len(fieldOrder))
	for i, f := range fieldOrder {
		parts[i] = f + "=" + v[f]
	}
	return strings.Join(parts, " ")
}

func parseHash(h string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Fields(h) {
		if k, v, ok := strings.Cut(p, "="); ok {
			out[k] = v
		}
	}
	return out
}

// patchFromHashes returns the PATCH body for the fields of want whose hash
// differs from the stored hash old, and whether the code changed (then the
// box is a new identity and must go through the search).
func patchFromHashes(old string, want sytex.NetworkElement) (fields map[string]any, codeChanged bool) {
	o := parseHash(old)
	n := parseHash(hashElement(want))
	if o[fCode] != n[fCode] {
		return nil, true
	}
	fields = map[string]any{}
	if o[fName] != n[fName] {
		fields["name"] = want.Name
	}
	if o[fDesc] != n[fDesc] && want.Description != "" {
		fields["description"] = want.Description
	}
	if o[fType] != n[fType] {
		fields["ne_type"] = want.NEType
	}
	if o[fCoords] != n[fCoords] && len(want.Coordinates) > 0 {
		fields["networkelementcoordinates_set"] = want.Coordinates
	}
	return fields, false
}
