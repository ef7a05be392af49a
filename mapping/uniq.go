package mapping

// uniqSet remembers the 64-bit hashes of a unique field's values and the
// row where each was first seen. It is an open-addressing table (linear
// probing, at most 3/4 full): on a sheet of a million rows a lookup of a
// new value touches one cache line, where a Go map touches several.
type uniqSet struct {
	keys []uint64 // 0 = free slot
	rows []uint32
	n    int
}

// add records key at row, or reports the row where key was seen first.
func (u *uniqSet) add(key uint64, row uint32) (first uint32, dup bool) {
	if key == 0 {
		key = 1 // 0 marks a free slot
	}
	if 4*(u.n+1) > 3*len(u.keys) {
		u.grow()
	}
	mask := uint64(len(u.keys) - 1)
	for i := mix(key) & mask; ; i = (i + 1) & mask {
		switch u.keys[i] {
		case key:
			return u.rows[i], true
		case 0:
			u.keys[i], u.rows[i] = key, row
			u.n++
			return 0, false
		}
	}
}

func (u *uniqSet) grow() {
	old, oldRows := u.keys, u.rows
	size := max(1024, 2*len(old))
	u.keys, u.rows = make([]uint64, size), make([]uint32, size)
	mask := uint64(size - 1)
	for j, k := range old {
		if k == 0 {
			continue
		}
		i := mix(k) & mask
		for u.keys[i] != 0 {
			i = (i + 1) & mask
		}
		u.keys[i], u.rows[i] = k, oldRows[j]
	}
}

// mix spreads a hash's bits (the finaliser of MurmurHash3), so that
// neighbouring keys do not cluster.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}
