package officetrack_test

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
	"github.com/fieldbridge/fieldbridge/connectors/officetrack/officetracktest"
)

func ptr[T any](v T) *T { return &v }

func newTask(n int64) officetrack.Task {
	return officetrack.Task{TaskNumber: ptr(n), Description: ptr("Instalação fibra"), DueDateTime: ptr("202611231400")}
}

func setup(t *testing.T) (*officetracktest.Server, *officetrack.Client) {
	t.Helper()
	fake := officetracktest.NewServer(officetracktest.Options{RequiredOnCreate: []string{"TaskNumber", "Description"}})
	t.Cleanup(fake.Close)
	c, err := officetrack.New(fake.ClientOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return fake, c
}

func TestEnvelopeHasValueFlags(t *testing.T) {
	task := officetrack.Task{TaskNumber: ptr(int64(42)), Notes: ptr(""), Location: &officetrack.Location{X: ptr(-46.63), Y: ptr(-23.55)}}
	task.Data[2] = ptr("x")
	b, err := xml.Marshal(struct {
		XMLName xml.Name         `xml:"r"`
		T       officetrack.Task `xml:"task"`
	}{T: task})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"<TaskNumber>42</TaskNumber><TaskNumberHasValue>true</TaskNumberHasValue>",
		"<WorkOrderNumberHasValue>false</WorkOrderNumberHasValue>",
		"<Notes></Notes><NotesHasValue>true</NotesHasValue>",
		"<Location><X>-46.63</X><Y>-23.55</Y></Location><LocationHasValue>true</LocationHasValue>",
		"<GeocodeAddressHasValue>false</GeocodeAddressHasValue>",
		"<Data2HasValue>false</Data2HasValue><Data3>x</Data3><Data3HasValue>true</Data3HasValue>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("envelope lacks %s\n%s", want, s)
		}
	}
	if strings.Contains(s, "<WorkOrderNumber>") || strings.Contains(s, "<Address>") {
		t.Errorf("unset field sent: %s", s)
	}
}

func TestSetGetAllFields(t *testing.T) {
	var task officetrack.Task
	vals := map[officetrack.FieldType]string{officetrack.TypeString: "abc", officetrack.TypeLong: "9007199254740993",
		officetrack.TypeInt: "90", officetrack.TypeFloat: "-23,5", officetrack.TypeBool: "sim"}
	want := map[officetrack.FieldType]string{officetrack.TypeString: "abc", officetrack.TypeLong: "9007199254740993",
		officetrack.TypeInt: "90", officetrack.TypeFloat: "-23.5", officetrack.TypeBool: "true"}
	fields := officetrack.TaskFields()
	if len(fields) != 59 {
		t.Fatalf("%d fields, want 59", len(fields))
	}
	for _, f := range fields {
		if err := task.Set(f.Name, vals[f.Type]); err != nil {
			t.Fatalf("Set(%s): %v", f.Name, err)
		}
	}
	for _, f := range fields {
		if got, ok := task.Get(f.Name); !ok || got != want[f.Type] {
			t.Errorf("Get(%s) = %q, %v", f.Name, got, ok)
		}
	}
	for _, bad := range [][2]string{{"TaskNumber", "12a"}, {"Location.X", "east"}, {"Nope", "1"}, {"Duration", "1.5"}} {
		if err := task.Set(bad[0], bad[1]); err == nil {
			t.Errorf("Set(%s, %s) accepted", bad[0], bad[1])
		}
	}
}

func TestCreateUpdateGet(t *testing.T) {
	fake, c := setup(t)
	ctx := context.Background()
	task := newTask(1001)
	task.Location = &officetrack.Location{X: ptr(-46.6), Y: ptr(-23.5), Address: ptr("Rua A, 1")}
	res, err := c.CreateOrUpdateTask(ctx, officetrack.OpAutoSelect, task)
	if err != nil || res.ResultCode != "OK" || res.TaskNumber != 1001 {
		t.Fatalf("create: %+v %v", res, err)
	}
	// Update only Notes: other fields stay.
	upd := officetrack.Task{TaskNumber: ptr(int64(1001)), Notes: ptr("ligar antes")}
	if _, err := c.CreateOrUpdateTask(ctx, officetrack.OpAutoSelect, upd); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetTaskDetails(ctx, 1001)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Task.Get("Description"); d != "Instalação fibra" {
		t.Errorf("Description = %q", d)
	}
	if n, _ := got.Task.Get("Notes"); n != "ligar antes" {
		t.Errorf("Notes = %q", n)
	}
	if a, _ := got.Task.Get("Location.Address"); a != "Rua A, 1" {
		t.Errorf("Address = %q", a)
	}
	if fake.TaskCount() != 1 || fake.TaskCalls(1001) != 2 {
		t.Errorf("count %d calls %d", fake.TaskCount(), fake.TaskCalls(1001))
	}
	_, err = c.GetTaskDetails(ctx, 5)
	var re *officetrack.ResultError
	if !errors.As(err, &re) || re.Code != officetrack.CodeTaskNumberNotFound {
		t.Errorf("unknown task: %v", err)
	}
}

func TestResultClasses(t *testing.T) {
	tests := []struct {
		name  string
		prep  func(*officetracktest.Server)
		task  officetrack.Task
		class officetrack.Class
		code  string
		calls int
	}{
		{"ok", nil, newTask(1), officetrack.Success, "", 1},
		{"missing required", nil, officetrack.Task{TaskNumber: ptr(int64(2))}, officetrack.RowError, officetrack.CodeRequiredDataIsMissing, 1},
		{"bad date", nil, func() officetrack.Task { t := newTask(3); t.DueDateTime = ptr("31/12/2026"); return t }(), officetrack.RowError, officetrack.CodeInvalidDateFormat, 1},
		{"bad status", nil, func() officetrack.Task { t := newTask(4); t.Status = ptr("Bogus"); return t }(), officetrack.RowError, officetrack.CodeValidationError, 1},
		{"no task number", nil, officetrack.Task{Description: ptr("x")}, officetrack.RowError, officetrack.CodeRequiredDataIsMissing, 1},
		{"row error injected", func(s *officetracktest.Server) {
			s.SetRowError(5, officetrack.CodeEmployeeNumberNotFound, "Employee 77 not found")
		}, newTask(5), officetrack.RowError, officetrack.CodeEmployeeNumberNotFound, 1},
		{"bad credentials", func(s *officetracktest.Server) { s.SetCredentials("bridge", "other") }, newTask(6), officetrack.RunStopping, officetrack.CodeInvalidCredentials, 1},
		{"transient recovers", func(s *officetracktest.Server) {
			s.FailNext(1, officetracktest.FaultTooMuchData)
			s.FailNext(1, officetracktest.FaultHTTP500)
			s.FailNext(1, officetracktest.FaultSOAPFault)
			s.FailNext(1, officetracktest.FaultUnknownError)
		}, newTask(7), officetrack.Success, "", 5},
		{"transient exhausted", func(s *officetracktest.Server) { s.FailNext(10, officetracktest.FaultTooMuchData) }, newTask(8), officetrack.Transient, officetrack.CodeTooMuchDataToProcess, 5},
		{"lost answer re-sent as upsert", func(s *officetracktest.Server) { s.FailNext(1, officetracktest.FaultLostAnswer) }, newTask(9), officetrack.Success, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c := setup(t)
			if tt.prep != nil {
				tt.prep(fake)
			}
			_, err := c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, tt.task)
			if got := officetrack.ClassOf(err); got != tt.class {
				t.Fatalf("class %v, want %v (err %v)", got, tt.class, err)
			}
			if tt.code != "" {
				var re *officetrack.ResultError
				if !errors.As(err, &re) || re.Code != tt.code {
					t.Fatalf("err %v, want code %s", err, tt.code)
				}
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("password in error: %v", err)
			}
			if n := fake.Calls("CreateOrUpdateTask"); n != tt.calls {
				t.Errorf("%d calls, want %d", n, tt.calls)
			}
			if tt.class == officetrack.Success && fake.TaskCount() != 1 {
				t.Errorf("%d tasks", fake.TaskCount())
			}
		})
	}
}

func TestRunStoppingMessage(t *testing.T) {
	fake, c := setup(t)
	fake.SetCredentials("x", "y")
	_, err := c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1))
	if !errors.Is(err, officetrack.ErrRunStopping) || !strings.Contains(err.Error(), "password") {
		t.Fatalf("%v", err)
	}
}

func TestTimeout(t *testing.T) {
	fake, _ := setup(t)
	o := fake.ClientOptions()
	o.Timeout = 200 * time.Millisecond
	o.MaxRetries = -1
	c, err := officetrack.New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	fake.FailNext(1, officetracktest.FaultStall)
	start := time.Now()
	_, err = c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1))
	if !errors.Is(err, officetrack.ErrTransient) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	fake, _ := setup(t)
	o := fake.ClientOptions()
	o.RetryBackoff, o.MaxBackoff = time.Hour, time.Hour
	c, _ := officetrack.New(o, nil)
	fake.FailNext(1, officetracktest.FaultHTTP500)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.CreateOrUpdateTask(ctx, officetrack.OpAutoSelect, newTask(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestHTTPErrorsClassified(t *testing.T) {
	fake, _ := setup(t)
	o := fake.ClientOptions()
	o.URL = strings.Replace(o.URL, "webservices.asmx", "nope.asmx", 1)
	c, _ := officetrack.New(o, nil)
	_, err := c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1))
	if !errors.Is(err, officetrack.ErrRunStopping) {
		t.Fatalf("404 should stop the run: %v", err)
	}
	o.URL = "http://127.0.0.1:1/services/webservices.asmx"
	o.MaxRetries = 1
	c, _ = officetrack.New(o, nil)
	_, err = c.CreateOrUpdateTask(context.Background(), officetrack.OpAutoSelect, newTask(1))
	if !errors.Is(err, officetrack.ErrTransient) {
		t.Fatalf("refused connection should be transient: %v", err)
	}
}

func TestPOI(t *testing.T) {
	fake, c := setup(t)
	ctx := context.Background()
	p := officetrack.POI{Name: "CTO-01", Type: "POI", CustomerNumber: "CTO-01", City: "São Paulo"}
	p.Data[0] = "splitter 1:8"
	if _, err := c.InsertOrUpdatePointOfInterest(ctx, officetrack.OpAutoSelect, p); err != nil {
		t.Fatal(err)
	}
	got, ok := fake.POI("CTO-01")
	if !ok || got.City != "São Paulo" || got.Data[0] != "splitter 1:8" {
		t.Fatalf("%+v %v", got, ok)
	}
	p.Type = "Box"
	_, err := c.InsertOrUpdatePointOfInterest(ctx, officetrack.OpAutoSelect, p)
	if officetrack.ClassOf(err) != officetrack.RowError {
		t.Fatalf("bad type: %v", err)
	}
}

func TestFakeRejectsBadRequests(t *testing.T) {
	fake, _ := setup(t)
	// Wrong SOAPAction: a client-side fault, not transient.
	body, _ := officetrack.Envelope(struct {
		XMLName xml.Name `xml:"GetTaskDetails"`
		NS      string   `xml:"xmlns,attr"`
	}{NS: officetrack.Namespace})
	req, _ := http.NewRequest("POST", fake.URL, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"Trackem.Web.Services/CreateOrUpdateTask"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(b), "soap:Client") || !strings.Contains(string(b), "SOAPAction") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

// TestFakeChecksHasValue: a value sent without its HasValue flag (which the
// real service would silently ignore) and a flag without its value are
// refused by the fake, so a client bug cannot pass the tests.
func TestFakeChecksHasValue(t *testing.T) {
	fake, _ := setup(t)
	post := func(task string) string {
		body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
			`<CreateOrUpdateTask xmlns="Trackem.Web.Services"><userName>bridge</userName><password>s3cret</password><operation>AutoSelect</operation>` +
			`<task>` + task + `</task></CreateOrUpdateTask></soap:Body></soap:Envelope>`
		req, _ := http.NewRequest("POST", fake.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"Trackem.Web.Services/CreateOrUpdateTask"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	flags := func(except ...string) string {
		var b strings.Builder
		skip := map[string]bool{}
		for _, e := range except {
			skip[e] = true
		}
		for _, n := range officetrack.TopLevelElements() {
			if !skip[n] {
				b.WriteString("<" + n + "HasValue>false</" + n + "HasValue>")
			}
		}
		return b.String()
	}
	ok := `<TaskNumber>5</TaskNumber><TaskNumberHasValue>true</TaskNumberHasValue><Description>x</Description><DescriptionHasValue>true</DescriptionHasValue>` + flags("TaskNumber", "Description")
	if got := post(ok); !strings.Contains(got, "<ResultCode>OK</ResultCode>") {
		t.Fatalf("well-formed task refused: %s", got)
	}
	for name, task := range map[string]string{
		"value without flag": `<TaskNumber>5</TaskNumber><TaskNumberHasValue>true</TaskNumberHasValue><Notes>n</Notes>` + flags("TaskNumber"),
		"flag without value": `<TaskNumber>5</TaskNumber><TaskNumberHasValue>true</TaskNumberHasValue><NotesHasValue>true</NotesHasValue>` + flags("TaskNumber", "Notes"),
		"flag missing":       `<TaskNumber>5</TaskNumber><TaskNumberHasValue>true</TaskNumberHasValue>` + flags("TaskNumber", "Email"),
		"unknown element":    `<Colour>red</Colour><TaskNumber>5</TaskNumber><TaskNumberHasValue>true</TaskNumberHasValue>` + flags("TaskNumber"),
	} {
		if got := post(task); !strings.Contains(got, "<ResultCode>ValidationError</ResultCode>") {
			t.Errorf("%s: %s", name, got)
		}
	}
	if n := fake.TaskCalls(5); n != 1 {
		t.Errorf("task 5 applied %d times", n)
	}
}
