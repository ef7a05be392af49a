package mapping

import "testing"

func TestUniqSet(t *testing.T) {
	var u uniqSet
	const n = 100000
	for i := 0; i < n; i++ {
		if _, dup := u.add(uint64(i)*0x9e3779b97f4a7c15, uint32(i+2)); dup {
			t.Fatalf("key %d reported as a duplicate on first add", i)
		}
	}
	for i := 0; i < n; i += 997 {
		first, dup := u.add(uint64(i)*0x9e3779b97f4a7c15, 999999)
		if !dup || first != uint32(i+2) {
			t.Fatalf("key %d: got (%d, %v), want (%d, true)", i, first, dup, i+2)
		}
	}
	if 4*u.n > 3*len(u.keys) {
		t.Errorf("table over 3/4 full: %d of %d", u.n, len(u.keys))
	}
	// Key 0 (i = 0 above) and key 1 share a slot marker; both are found.
	var z uniqSet
	z.add(0, 5)
	if first, dup := z.add(0, 6); !dup || first != 5 {
		t.Errorf("key 0: got (%d, %v)", first, dup)
	}
}
