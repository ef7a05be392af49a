package sheets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

const testSHA = "aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44ee55ff66aa11bb22cc33dd44"

func ptr[T any](v T) *T { return &v }

// genRows yields n rows numbered from 2; rows in bad get a Problem.
func genRows(n int, bad map[int]bool) func() (outRow, bool, error) {
	i := 0
	return func() (outRow, bool, error) {
		if i >= n {
			return outRow{}, false, nil
		}
		i++
		num := i + 1
		if bad[num] {
			return outRow{Num: num, Problem: "DueDateTime: \"31/02\" is not a date"}, true, nil
		}
		t := &officetrack.Task{TaskNumber: ptr(DerivedTaskNumber(testSHA, num)), Description: ptr(fmt.Sprintf("row %d", num))}
		return outRow{Num: num, Task: t}, true, nil
	}
}

func newSend(t *testing.T, fake *officetracktest.Server, l ledger.Ledger, conc int) *webSend {
	c, err := officetrack.New(fake.ClientOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webSend{api: c, ledger: l, job: "tarefas", runID: 1, sha: testSHA, conc: conc,
		rc: bridge.NewRunContext(ledger.Run{ID: 1, Job: "tarefas"}, l, nil, nil), now: time.Now}
}

func TestWebSendAllRows(t *testing.T) {
	fake := officetracktest.NewServer(officetracktest.Options{Latency: 5 * time.Millisecond})
	defer fake.Close()
	l := newTestLedger(t, t.TempDir())
	s := newSend(t, fake, l, 8)
	bad := map[int]bool{10: true, 50: true}
	n := DerivedTaskNumber(testSHA, 20)
	fake.SetRowError(n, officetrack.CodeEmployeeNumberNotFound, "Employee 12 not found")
	st, err := s.run(context.Background(), genRows(300, bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 297 || st.Failed != 1 || st.Rejected != 2 {
		t.Fatalf("%+v", st)
	}
	if fake.TaskCount() != 297 || fake.Calls("CreateOrUpdateTask") != 298 {
		t.Fatalf("tasks %d calls %d", fake.TaskCount(), fake.Calls("CreateOrUpdateTask"))
	}
	if m := fake.MaxInFlight(); m > 8 || m < 4 {
		t.Fatalf("max in flight %d", m)
	}
	it, err := l.GetItem(context.Background(), "tarefas", itemKey(testSHA, 20))
	if err != nil || it.Outcome != OutcomeFailed || it.Message != "EmployeeNumberNotFound: Employee 12 not found" {
		t.Fatalf("%+v %v", it, err)
	}
	if got := s.rc.Counts(); got["sent"] != 297 || got["failed"] != 1 || got["rejected"] != 2 {
		t.Fatalf("counts %v", got)
	}
	// Resume: every row is done, nothing is sent again.
	done, err := doneRows(context.Background(), l, "tarefas", testSHA)
	if err != nil || len(done) != 300 {
		t.Fatalf("done %d %v", len(done), err)
	}
	st, err = s.run(context.Background(), genRows(300, bad), done)
	if err != nil || st.Skipped != 300 || fake.Calls("CreateOrUpdateTask") != 298 {
		t.Fatalf("%+v %v calls %d", st, err, fake.Calls("CreateOrUpdateTask"))
	}
}

func TestWebSendStops(t *testing.T) {
	tests := []struct {
		name string
		prep func(*officetracktest.Server)
		want error
	}{
		{"credentials", func(s *officetracktest.Server) { s.SetCredentials("bridge", "changed") }, officetrack.ErrRunStopping},
		{"service down", func(s *officetracktest.Server) {
			s.FailEvery(1, officetracktest.FaultHTTP500)
		}, officetrack.ErrTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := officetracktest.NewServer(officetracktest.Options{})
			defer fake.Close()
			l := newTestLedger(t, t.TempDir())
			s := newSend(t, fake, l, 4)
			// 40 rows go through, then the service breaks.
			if _, err := s.run(context.Background(), genRows(40, nil), nil); err != nil {
				t.Fatal(err)
			}
			tt.prep(fake)
			start := time.Now()
			done, err := doneRows(context.Background(), l, "tarefas", testSHA)
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.run(context.Background(), genRows(200, nil), done)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v", err)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("did not stop promptly")
			}
			if st.Sent != 0 {
				t.Fatalf("%+v", st)
			}
			done, _ = doneRows(context.Background(), l, "tarefas", testSHA)
			if len(done) != 40 {
				t.Fatalf("%d done rows", len(done))
			}
		})
	}
}

// TestWebSendPOIs: points of interest are keyed by customerNumber: one
// without it is refused with a sentence; one sent before is not sent
// again; one left pending by an interruption is sent again (OfficeTrack
// has no read for points of interest), once.
func TestWebSendPOIs(t *testing.T) {
	fake := officetracktest.NewServer(officetracktest.Options{})
	defer fake.Close()
	l := newTestLedger(t, t.TempDir())
	s := newSend(t, fake, l, 2)
	pois := func(ps ...officetrack.POI) func() (outRow, bool, error) {
		i := 0
		return func() (outRow, bool, error) {
			if i == len(ps) {
				return outRow{}, false, nil
			}
			i++
			return outRow{Num: i + 1, POI: &ps[i-1]}, true, nil
		}
	}
	a := officetrack.POI{Name: "Caixa A", CustomerNumber: "CX-1", Type: "POI"}
	b := officetrack.POI{Name: "Caixa B", CustomerNumber: "CX-2", Type: "POI"}
	noKey := officetrack.POI{Name: "Sem código", Type: "POI"}
	st, err := s.run(context.Background(), pois(a, b, noKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sent != 2 || st.Rejected != 1 || fake.Calls("InsertOrUpdatePointOfInterest") != 2 {
		t.Fatalf("first run %+v, %d calls", st, fake.Calls("InsertOrUpdatePointOfInterest"))
	}
	it, _ := l.GetItem(context.Background(), "tarefas", itemKey(testSHA, 4))
	if !strings.Contains(it.Message, "customerNumber") {
		t.Errorf("the point without a key: %q", it.Message)
	}
	// An interruption left CX-2 pending.
	tr, err := loadTarget(context.Background(), l, "tarefas", "poi:CX-2")
	if err != nil {
		t.Fatal(err)
	}
	tr.Pending = &pendingSend{Hash: "other", Values: map[string]string{"name": "Caixa B2"}, File: "x", Row: 9}
	if err := l.PutItem(context.Background(), tr.item("tarefas", "poi:CX-2", 1, time.Now())); err != nil {
		t.Fatal(err)
	}
	s2 := newSend(t, fake, l, 2)
	s2.sha = strings.Repeat("b", 64)
	st, err = s2.run(context.Background(), pois(a, b), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Already != 1 || st.Sent != 1 || fake.Calls("InsertOrUpdatePointOfInterest") != 3 {
		t.Fatalf("second run %+v, %d calls (want CX-1 already sent, CX-2 sent again)", st, fake.Calls("InsertOrUpdatePointOfInterest"))
	}
	if tr, _ := loadTarget(context.Background(), l, "tarefas", "poi:CX-2"); tr.Pending != nil {
		t.Errorf("still pending: %+v", tr.Pending)
	}
}
