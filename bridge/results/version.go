package results

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/transports"
)

// fileVersion tells versions of one remote file apart without trusting the
// server's clock beyond what it offers: its size, its modification time
// and how precise that time is (transports.FileInfo.Precision). vsftpd's
// LIST gives minutes, MLSD, MDTM and SFTP seconds, a local folder
// nanoseconds.
type fileVersion struct {
	Size  int64
	MTime time.Time
	Prec  time.Duration
}

func versionOf(fi transports.FileInfo) fileVersion {
	return fileVersion{Size: fi.Size, MTime: fi.ModTime, Prec: fi.Precision}
}

// String is the version as the ledger keeps it (Item.Hash):
// "<size>:<unix ns>" for an exact time, "<size>:<unix ns>:<precision>"
// otherwise ("5120:1733490180000000000:1m0s").
func (v fileVersion) String() string {
	s := strconv.FormatInt(v.Size, 10) + ":" + strconv.FormatInt(v.MTime.UnixNano(), 10)
	if v.Prec > 0 {
		s += ":" + v.Prec.String()
	}
	return s
}

// parseVersion reads String's form. Versions recorded before precisions
// were kept ("<size>:<unix ns>") whose time falls on a whole minute came
// from minute listings and are read as such.
func parseVersion(s string) (fileVersion, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return fileVersion{}, fmt.Errorf("file version %q: want size:mtime[:precision]", s)
	}
	size, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return fileVersion{}, fmt.Errorf("file version %q: %w", s, err)
	}
	ns, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return fileVersion{}, fmt.Errorf("file version %q: %w", s, err)
	}
	v := fileVersion{Size: size, MTime: time.Unix(0, ns)}
	if len(parts) == 3 {
		if v.Prec, err = time.ParseDuration(parts[2]); err != nil || v.Prec < 0 {
			return fileVersion{}, fmt.Errorf("file version %q: bad precision", s)
		}
	} else if ns%int64(time.Minute) == 0 {
		v.Prec = time.Minute
	}
	return v, nil
}

// precise reports whether the time tells apart two writes that are at
// least a second apart: a file is only taken after min_age unchanged, so a
// later write of it has a later second.
func (v fileVersion) precise() bool { return v.Prec <= time.Second }

// mayBe reports whether v and w may describe the same content: the same
// size, and times that could be the same instant at their precisions.
func (v fileVersion) mayBe(w fileVersion) bool {
	if v.Size != w.Size {
		return false
	}
	if v.Prec == 0 && w.Prec == 0 {
		return v.MTime.Equal(w.MTime)
	}
	// half-open intervals [t, t+prec); an exact time is an instant
	vEnd, wEnd := v.MTime.Add(max(v.Prec, 1)), w.MTime.Add(max(w.Prec, 1))
	return v.MTime.Before(wEnd) && w.MTime.Before(vEnd)
}

// same reports whether v and w are provably the same version: both times
// precise and compatible, and the same size. A coarse time proves nothing
// (a same-size rewrite within the minute lists the same).
func (v fileVersion) same(w fileVersion) bool {
	return v.precise() && w.precise() && v.mayBe(w)
}
