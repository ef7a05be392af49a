package officetrack_test

import (
	"context"
	"testing"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

// TestCreateOrUpdateTaskOnce: an answer lost after the call was applied
// is confirmed with GetTaskDetails instead of a second CreateOrUpdateTask;
// a lost answer of a call that was not applied (or applied differently)
// is followed by a new try; the service's own transient answers are
// retried without a read.
func TestCreateOrUpdateTaskOnce(t *testing.T) {
	tests := []struct {
		name             string
		prep             func(*officetracktest.Server)
		applied, details int // CreateOrUpdateTask calls applied; GetTaskDetails calls
		confirmed        bool
	}{
		{"no failure", nil, 1, 0, false},
		{"lost answer, applied", func(s *officetracktest.Server) { s.FailNext(1, officetracktest.FaultLostAnswer) }, 1, 1, true},
		{"two lost answers (the read's too)", func(s *officetracktest.Server) { s.FailNext(2, officetracktest.FaultLostAnswer) }, 1, 2, true},
		{"HTTP 500 before applying", func(s *officetracktest.Server) { s.FailNext(1, officetracktest.FaultHTTP500) }, 1, 1, false},
		{"server fault", func(s *officetracktest.Server) { s.FailNext(1, officetracktest.FaultSOAPFault) }, 1, 1, false},
		{"too much data: the service said no", func(s *officetracktest.Server) { s.FailNext(2, officetracktest.FaultTooMuchData) }, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c := setup(t)
			if tt.prep != nil {
				tt.prep(fake)
			}
			task := newTask(41)
			res, d, err := c.CreateOrUpdateTaskOnce(context.Background(), task)
			if err != nil {
				t.Fatal(err)
			}
			if res.TaskNumber != 41 {
				t.Errorf("TaskNumber %d", res.TaskNumber)
			}
			if got := fake.TaskCalls(41); got != tt.applied {
				t.Errorf("%d CreateOrUpdateTask calls applied, want %d", got, tt.applied)
			}
			if got := fake.Calls("GetTaskDetails"); got != tt.details {
				t.Errorf("%d GetTaskDetails calls, want %d", got, tt.details)
			}
			if d.Confirmed != tt.confirmed {
				t.Errorf("Confirmed = %v, want %v", d.Confirmed, tt.confirmed)
			}
		})
	}
}

// TestCreateOrUpdateTaskOnceSendsWhatDiffers: a lost answer, then the
// task read back differs from what was sent (someone changed it in
// between): the task is sent again.
func TestCreateOrUpdateTaskOnceSendsWhatDiffers(t *testing.T) {
	fake, c := setup(t)
	old := newTask(42)
	if _, err := c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, old); err != nil {
		t.Fatal(err)
	}
	fake.FailNext(1, officetracktest.FaultHTTP500) // not applied
	changed := newTask(42)
	changed.Notes = ptr("portão azul")
	if _, d, err := c.CreateOrUpdateTaskOnce(context.Background(), changed); err != nil || d.Confirmed || d.Tries != 2 {
		t.Fatalf("d = %+v, err %v", d, err)
	}
	if got, _ := fake.Task(42); got.Notes == nil || *got.Notes != "portão azul" {
		t.Fatalf("task %+v", got)
	}
}

func TestTaskHeldBy(t *testing.T) {
	sent := newTask(1)
	sent.Location = &officetrack.Location{X: ptr(-46.5), Y: ptr(-23.25)}
	held := newTask(1)
	held.Location = &officetrack.Location{X: ptr(-46.5), Y: ptr(-23.25)}
	held.Status = ptr("InProgress") // not sent: OfficeTrack's own
	if !sent.HeldBy(&held) {
		t.Error("held task with the same sent fields: not HeldBy")
	}
	held.Location.Y = ptr(-23.26)
	if sent.HeldBy(&held) {
		t.Error("a different latitude: HeldBy")
	}
	if v := sent.Values(); v["Location.X"] != "-46.5" || v["Description"] != "Instalação fibra" || len(v) != 5 {
		t.Errorf("Values = %v", v)
	}
}
