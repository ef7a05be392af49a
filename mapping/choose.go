package mapping

import (
	"errors"
	"strings"

	"github.com/fieldbridge/fieldbridge/mapping/sheet"
)

// Choose picks the mapping for a file. With bound set (the folder's
// mapping, by name) that mapping is used. Otherwise the mappings whose
// file-name globs match the file are candidates (all mappings when none
// matches), and when there are several the one whose columns best match
// the sheet's headers wins; a tie is a *FileError naming the tied mappings.
func (s *Set) Choose(path string, bound string, opts Options) (*Mapping, error) {
	if bound != "" {
		m, ok := s.Get(bound)
		if !ok {
			return nil, &FileError{File: path, text: allLangs(func(l string) string {
				return tr(l, mNoSuchMapping, bound, strings.Join(s.Names(), ", "))
			})}
		}
		return m, nil
	}
	var cands []*Mapping
	for _, m := range s.Mappings {
		if m.MatchesFile(path) {
			cands = append(cands, m)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	if len(cands) == 0 {
		cands = s.Mappings
	}
	if len(cands) == 0 {
		return nil, &FileError{File: path, text: allLangs(func(l string) string { return tr(l, mNoMapping) })}
	}
	f, err := sheet.Open(path, opts.Sheet)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Detect(f, cands, opts)
}

// Detect returns the candidate whose columns best match the headers of
// an opened file. A mapping scores the number of its columns found in its
// best header row among the first rows, and only counts when every column
// it needs is there.
func Detect(f *sheet.File, cands []*Mapping, opts Options) (*Mapping, error) {
	best, bestScore := []*Mapping(nil), 0
	for _, m := range cands {
		r, err := NewReader(f, m, opts)
		if err != nil {
			var se *sheet.Error
			if errors.As(err, &se) && se.Kind != sheet.ErrNoSheet {
				return nil, err // the file itself is unreadable
			}
			continue // the sheet does not fit this mapping
		}
		var score int
		hdr := sheet.Row{}
		for _, h := range r.headers {
			hdr.Cells = append(hdr.Cells, sheet.Cell{Value: h, Kind: sheet.String})
		}
		score = m.headerScore(hdr)
		r.Close()
		switch {
		case score > bestScore:
			best, bestScore = []*Mapping{m}, score
		case score == bestScore && score > 0:
			best = append(best, m)
		}
	}
	switch len(best) {
	case 0:
		return nil, &FileError{File: f.Path, text: allLangs(func(l string) string { return tr(l, mNoMapping) })}
	case 1:
		return best[0], nil
	}
	var names []string
	for _, m := range best {
		names = append(names, m.Name)
	}
	return nil, &FileError{File: f.Path, text: allLangs(func(l string) string {
		return tr(l, mAmbiguous, strings.Join(names, ", "))
	})}
}

func allLangs(fn func(l string) string) map[string]string {
	out := map[string]string{}
	for _, l := range []string{LangPT, LangES, LangEN} {
		out[l] = fn(l)
	}
	return out
}
