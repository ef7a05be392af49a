//go:build !mappingready

package sheets

// Temporary stand-ins until the mapping, transports and engine packages
// land on main; glue.go replaces them.

import (
	"context"

	"errors"
	"github.com/fieldbridge/fieldbridge/transports"

	"github.com/fieldbridge/fieldbridge/bridge/ledger"
)

type sheetSource interface {
	rows() (func() (outRow, bool, error), error)
	Close() error
}

func (j *job) openSheet(path string, rec ledger.File, in *Inbox) (sheetSource, error) {
	return nil, errors.New("mapping package not available yet")
}

func (j *job) writeReport(src sheetSource, rec ledger.File, statusOf func(int) (rowStatus, bool), sum summary) (string, error) {
	return "", errors.New("mapping package not available yet")
}

func (j *job) writeNoteReport(rec ledger.File, note string) (string, error) {
	return "", errors.New("mapping package not available yet")
}

func configLanguage(j *job) string {
	if j.env != nil && j.env.Config != nil {
		return j.env.Config.Language
	}
	return ""
}

func openRemoteTransport(ctx context.Context, opts any) (transports.Transport, bool, error) {
	return nil, false, nil
}
