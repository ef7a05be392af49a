package boxsync

import (
	"strings"
	"testing"

	"github.com/fieldbridge/fieldbridge/connectors/ozmap"
)

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"{name}", "{project_identifier}-{name}", "{", "}{", "{{name}}", "a{id}b{box_type}c", ""} {
		f.Add(s, "CTO-1")
	}
	f.Fuzz(func(t *testing.T, text, name string) {
		tpl, err := parseTemplate("code_template", text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "code_template: ") {
				t.Fatalf("error does not name the option: %v", err)
			}
			return
		}
		b := ozmap.Box{Name: name, ID: "i"}
		out := tpl.render(&b, ozmap.Project{})
		if !strings.Contains(text, "{") && out != strings.TrimSpace(text) {
			t.Fatalf("literal %q rendered as %q", text, out)
		}
	})
}

func TestHashRoundTrip(t *testing.T) {
	m := mapping{types: map[string]int64{"a": 3}, defaultType: 9, coordName: "Coordinates"}
	m.code, _ = parseTemplate("c", "{name}")
	m.name, _ = parseTemplate("n", "{name}")
	b := ozmap.Box{Name: "X", BoxType: "a", Lat: -1.123456789, Lng: 2}
	ne, err := m.element(&b, ozmap.Project{})
	if err != nil {
		t.Fatal(err)
	}
	h := hashElement(ne)
	if f, cc := patchFromHashes(h, ne); cc || len(f) != 0 {
		t.Fatalf("same element: %v %v", f, cc)
	}
	b.Lat = -1.2
	ne2, _ := m.element(&b, ozmap.Project{})
	if f, cc := patchFromHashes(h, ne2); cc || len(f) != 1 || f["networkelementcoordinates_set"] == nil {
		t.Fatalf("moved: %v %v", f, cc)
	}
	b.BoxType = "zzz"
	ne3, _ := m.element(&b, ozmap.Project{})
	if f, _ := patchFromHashes(h, ne3); f["ne_type"] != int64(9) {
		t.Fatalf("type: %v", f)
	}
	b.Name = "Y"
	ne4, _ := m.element(&b, ozmap.Project{})
	if _, cc := patchFromHashes(h, ne4); !cc {
		t.Fatal("code change not seen")
	}
}
