package ozmap

import (
	"encoding/json"
	"math"
	"testing"
)

// TestNearFilterMatchesMarshal checks the hand-built filter against
// json.Marshal, including the values it leaves to json.Marshal.
func TestNearFilterMatchesMarshal(t *testing.T) {
	vals := []float64{0, -0.0, -27.5762, -48.5272, 100, 1e-7, 1e-6, 123456789.125, 1e21, 1e22, math.NaN(), math.Inf(1), -23.55, 0.1 + 0.2}
	for _, a := range vals {
		for _, r := range vals {
			want, _ := json.Marshal([]Filter{{"coords", "near", map[string]float64{"lat": a, "lng": -a, "radius": r}}})
			if got := nearFilter(a, -a, r); got != string(want) {
				t.Errorf("nearFilter(%v, %v, %v) = %s, want %s", a, -a, r, got, want)
			}
		}
	}
}

// TestPlainStringMatchesUnmarshal checks the string fast path against
// json.Unmarshal.
func TestPlainStringMatchesUnmarshal(t *testing.T) {
	for _, in := range []string{`""`, `"abc"`, `"Caixa São José"`, `"a\"b"`, `"a\\b"`, `"\u00e9"`, "\"\xff\xfe\"", `"2024-01-02T03:04:05.000Z"`, `"tab	x"`, `12`, `"`} {
		var want flexString
		werr := want.slowUnmarshal([]byte(in))
		var got flexString
		gerr := got.UnmarshalJSON([]byte(in))
		if (werr != nil) != (gerr != nil) || got != want {
			t.Errorf("%q: got %q, %v; want %q, %v", in, got, gerr, want, werr)
		}
	}
}

// slowUnmarshal is flexString's decoding of a quoted string without the
// fast path.
func (s *flexString) slowUnmarshal(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		err := json.Unmarshal(b, &v)
		*s = flexString(v)
		return err
	}
	return s.UnmarshalJSON(b)
}
