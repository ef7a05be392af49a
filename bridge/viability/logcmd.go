package viability

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
)

// PrintLog prints one day's questions of the fortics-viability jobs in cfg
// (only the named one when job is not empty) with a summary per job. day is
// "YYYY-MM-DD" in the config's time zone; empty means today. It is the
// logic of `fieldbridge viability log`.
func PrintLog(w io.Writer, cfg *bridge.Config, job, day string, asJSON bool) error {
	var names, all []string
	for _, j := range cfg.Jobs {
		if j.Kind.Name != KindName {
			continue
		}
		all = append(all, j.Spec.Name)
		if job == "" || j.Spec.Name == job {
			names = append(names, j.Spec.Name)
		}
	}
	switch {
	case len(all) == 0:
		return errors.New("the configuration has no job of kind " + KindName)
	case len(names) == 0:
		return fmt.Errorf("no %s job named %q (configured: %s)", KindName, job, strings.Join(all, ", "))
	}
	if day == "" {
		day = time.Now().In(cfg.Location()).Format(time.DateOnly)
	}
	for i, name := range names {
		recs, err := ReadDay(LogDir(cfg, name), day)
		if err != nil {
			return fmt.Errorf("job %q: %w", name, err)
		}
		if len(names) > 1 && !asJSON {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "== %s\n", name)
		}
		if err := WriteLog(w, day, recs, asJSON); err != nil {
			return err
		}
	}
	return nil
}
