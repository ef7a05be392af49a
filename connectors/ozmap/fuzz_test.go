package ozmap

import (
	"encoding/json"
	"testing"
)

func FuzzBoxJSON(f *testing.F) {
	for _, s := range []string{
		`{"id": "5f1e", "kind": "Box", "name": "CTO-0142", "project": "5f0a", "pole": null, "boxType": {"_id": "5e9b"}, "hierarchyLevel": 3, "implanted": true, "coords": [-46.6333, -23.5505], "createdAt": "2025-03-01T12:00:00.000Z", "updatedAt": "2026-11-20T18:42:11.000Z", "external_id": 17, "tags": []}`,
		`{"_id": "x", "coords": [1], "lat": null}`, `{}`, `null`, `{"updatedAt": "yesterday"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b Box
		if err := json.Unmarshal([]byte(s), &b); err != nil {
			return
		}
		if len(b.Coords) >= 2 {
			var raw map[string]json.RawMessage
			if json.Unmarshal([]byte(s), &raw) == nil && (raw["lat"] == nil || string(raw["lat"]) == "null") && b.Lat != b.Coords[1] {
				t.Fatalf("lat %v not derived from coords %v", b.Lat, b.Coords)
			}
		}
		var p Pole
		_ = json.Unmarshal([]byte(s), &p)
		var v ViableBox
		_ = json.Unmarshal([]byte(s), &v)
	})
}
