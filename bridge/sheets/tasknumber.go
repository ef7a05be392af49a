package sheets

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// DerivedTaskNumber is the TaskNumber given to a row that has none, so that
// a re-send of the row (after a crash, or a retry) is an upsert of the same
// task and never a second task.
//
// Derivation: the first 8 bytes of SHA-256("<file sha256 hex>:<row>") read
// as a big-endian unsigned integer, reduced modulo 9×10^17 and added to
// 10^17. The result always has 18 decimal digits (100000000000000000 to
// 999999999999999999) and fits a signed 64-bit long (max ≈ 9.22×10^18).
// <row> is the row number as the user sees it in the spreadsheet (decimal).
//
// Because the file's content hash is part of it, the same row of a changed
// file gets a different number: senders who correct and resend sheets
// should give their rows a TaskNumber column.
func DerivedTaskNumber(fileSHA256 string, row int) int64 {
	sum := sha256.Sum256([]byte(fileSHA256 + ":" + strconv.Itoa(row)))
	v := binary.BigEndian.Uint64(sum[:8])
	return int64(v%900_000_000_000_000_000 + 100_000_000_000_000_000)
}
