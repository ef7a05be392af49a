//go:build !linux

package local

import (
	"errors"
	"os"
)

// startWriteback does nothing where sync_file_range is missing.
func startWriteback(*os.File, int64, int64) {}

// renameIn is not available here: the portable way is used.
func renameIn(*os.File, string, string) error { return errors.ErrUnsupported }

// renameNoReplaceIn is not available here: the portable way is used.
func renameNoReplaceIn(*os.File, string, string) error { return errors.ErrUnsupported }
