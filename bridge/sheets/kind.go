package sheets

import (
	"context"
	"errors"
	"fmt"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// ConnTypeName is the connection type of an OfficeTrack web-service account.
const ConnTypeName = "officetrack"

// ConnType is the "officetrack" connection type: the options of
// connectors/officetrack (url, user_name, password, timeout, ...).
func ConnType() bridge.ConnType {
	return bridge.ConnType{
		Name: ConnTypeName,
		NewOptions: func() any {
			o := officetrack.DefaultOptions()
			return &o
		},
		Check: func(opts any) error {
			o, ok := opts.(*officetrack.Options)
			if !ok {
				return fmt.Errorf("officetrack: unexpected options %T", opts)
			}
			return o.Check()
		},
		Connect: func(ctx context.Context, opts any) error {
			o, ok := opts.(*officetrack.Options)
			if !ok {
				return fmt.Errorf("officetrack: unexpected options %T", opts)
			}
			c, err := officetrack.New(*o, nil)
			if err != nil {
				return err
			}
			// Reading task 0 proves the account: a wrong password answers
			// InvalidUserNameOrPasswordOrIPAddress, a good one
			// TaskNumberNotFound (or the task).
			_, err = c.GetTaskDetails(ctx, 0)
			var re *officetrack.ResultError
			if err == nil || (errors.As(err, &re) && re.Class() == officetrack.RowError) {
				return nil
			}
			return err
		},
	}
}

// Kind is the sheet-officetrack job kind.
func Kind() bridge.Kind {
	return bridge.Kind{
		Name:       KindName,
		Summary:    "task sheets dropped in folders (local, FTP, SFTP) → OfficeTrack tasks or points of interest, with a result report",
		NewOptions: func() any { return DefaultOptions() },
		New: func(env *bridge.Env, spec bridge.JobSpec, opts any) (bridge.Job, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("%s: unexpected options %T", KindName, opts)
			}
			return newJob(env, spec, o)
		},
	}
}
