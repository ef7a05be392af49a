// Package officetracktest is a fake OfficeTrack SOAP web service for tests
// and `fieldbridge demo`. It validates requests the way the real service does
// (SOAPAction, envelope, namespace, credentials, required fields, the
// `<Field>HasValue` flags), keeps tasks and points of interest in memory by
// their keys, answers the contract's result codes, and can inject failures:
// transient result codes, HTTP 500, SOAP faults, lost answers, latency and
// per-TaskNumber row errors.
package officetracktest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/officetrack"
)

// Fault is a failure the fake can inject in place of a normal answer.
type Fault int

// Faults.
const (
	NoFault Fault = iota
	// FaultTooMuchData answers ResultCode TooMuchDataToProcess (transient).
	FaultTooMuchData
	// FaultUnknownError answers UnknownErrorHasOccurred (transient).
	FaultUnknownError
	// FaultHTTP500 answers HTTP 500 with an HTML body, no SOAP.
	FaultHTTP500
	// FaultSOAPFault answers a soap:Server Fault (HTTP 500).
	FaultSOAPFault
	// FaultLostAnswer applies the call, then answers HTTP 502 as a proxy
	// would when the answer is lost: a retry must be a harmless upsert.
	FaultLostAnswer
	// FaultStall holds the request for a minute (or until the client gives
	// up): the client's timeout must fire.
	FaultStall
)

func (f Fault) String() string {
	return [...]string{"none", "TooMuchDataToProcess", "UnknownErrorHasOccurred", "HTTP 500",
		"SOAP Fault", "lost answer", "stall"}[f]
}

// Options configures the fake.
type Options struct {
	UserName string // default "bridge"
	Password string // default "s3cret"
	// Latency is added to every answer.
	Latency time.Duration
	// RequiredOnCreate are the task fields (Task.Set names) a new task must
	// have; default just TaskNumber (the key of AutoSelect).
	RequiredOnCreate []string
	// DateLayouts are the accepted Go layouts of DueDateTime and
	// ExternalCreationDate; default "200601021504" (yyyyMMddHHmm) and
	// "2006-01-02T15:04:05".
	DateLayouts []string
}

// Server is a running fake service.
type Server struct {
	// URL is the address of the fake webservices.asmx.
	URL string

	srv  *httptest.Server
	opts Options

	mu          sync.Mutex
	user, pass  string
	latency     time.Duration
	tasks       map[int64]officetrack.Task
	pois        map[string]officetrack.POI
	calls       map[string]int
	taskCalls   map[int64]int
	next        []Fault
	every       int
	everyFault  Fault
	callNo      int
	rowErrors   map[int64][2]string
	inFlight    int
	maxInFlight int
	first, last time.Time
	stall       chan struct{}
}

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer(opts Options) *Server {
	if opts.UserName == "" {
		opts.UserName = "bridge"
	}
	if opts.Password == "" {
		opts.Password = "s3cret"
	}
	if opts.RequiredOnCreate == nil {
		opts.RequiredOnCreate = []string{"TaskNumber"}
	}
	if opts.DateLayouts == nil {
		opts.DateLayouts = []string{"200601021504", "2006-01-02T15:04:05"}
	}
	s := &Server{opts: opts, user: opts.UserName, pass: opts.Password, latency: opts.Latency,
		stall: make(chan struct{})}
	s.resetLocked()
	mux := http.NewServeMux()
	mux.HandleFunc("/services/webservices.asmx", s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/services/webservices.asmx"
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.stall:
	default:
		close(s.stall)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// ClientOptions returns client options that reach this fake with valid
// credentials and short retry waits.
func (s *Server) ClientOptions() officetrack.Options {
	o := officetrack.DefaultOptions()
	o.URL, o.UserName, o.Password = s.URL, s.opts.UserName, s.opts.Password
	o.RetryBackoff = 10 * time.Millisecond
	o.MaxBackoff = 100 * time.Millisecond
	o.Timeout = 10 * time.Second
	return o
}

// Reset forgets every task, POI, counter and injected failure.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	s.tasks = map[int64]officetrack.Task{}
	s.pois = map[string]officetrack.POI{}
	s.calls = map[string]int{}
	s.taskCalls = map[int64]int{}
	s.rowErrors = map[int64][2]string{}
	s.next, s.every, s.everyFault, s.callNo = nil, 0, NoFault, 0
	s.maxInFlight = 0
	s.first, s.last = time.Time{}, time.Time{}
}

// SetCredentials changes the accepted user name and password (to simulate
// a password changed in OfficeTrack).
func (s *Server) SetCredentials(user, pass string) {
	s.mu.Lock()
	s.user, s.pass = user, pass
	s.mu.Unlock()
}

// SetLatency sets the delay added to every answer.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// FailNext makes the next n calls fail with f.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	for range n {
		s.next = append(s.next, f)
	}
	s.mu.Unlock()
}

// FailEvery makes every n-th call fail with f (n <= 0 turns it off).
func (s *Server) FailEvery(n int, f Fault) {
	s.mu.Lock()
	s.every, s.everyFault = n, f
	s.mu.Unlock()
}

// SetRowError makes every CreateOrUpdateTask of taskNumber answer code (a
// row error such as EmployeeNumberNotFound) with message.
func (s *Server) SetRowError(taskNumber int64, code, message string) {
	s.mu.Lock()
	s.rowErrors[taskNumber] = [2]string{code, message}
	s.mu.Unlock()
}

// Task returns the stored task.
func (s *Server) Task(n int64) (officetrack.Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[n]
	return t, ok
}

// TaskNumbers returns the stored tasks' numbers, sorted.
func (s *Server) TaskNumbers() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.tasks))
	for n := range s.tasks {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// TaskCount is the number of distinct tasks stored.
func (s *Server) TaskCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tasks)
}

// TaskCalls is how many CreateOrUpdateTask calls named taskNumber and were
// applied (a count above 1 is a re-send: harmless with AutoSelect).
func (s *Server) TaskCalls(taskNumber int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taskCalls[taskNumber]
}

// Calls is how many requests of operation op arrived (any outcome).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// POI returns the stored point of interest with that customer number.
func (s *Server) POI(customerNumber string) (officetrack.POI, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pois[customerNumber]
	return p, ok
}

// POICount is the number of points of interest stored.
func (s *Server) POICount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pois)
}

// CallWindow returns when the first request since the last Reset arrived
// and when the last one was answered.
func (s *Server) CallWindow() (first, last time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

// MaxInFlight is the most requests seen at the same time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

const maxRequest = 1 << 20

const soapNS = "http://schemas.xmlsoap.org/soap/envelope/"

// parseDoc reads an XML document into an element tree (without the
// reflection of xml.Unmarshal: the fake answers thousands of calls in
// benchmarks).
func parseDoc(data []byte) (officetrack.Element, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return officetrack.Element{}, err
		}
		if st, ok := tok.(xml.StartElement); ok {
			return parseElement(dec, st, 0)
		}
	}
}

func parseElement(dec *xml.Decoder, start xml.StartElement, depth int) (officetrack.Element, error) {
	el := officetrack.Element{XMLName: start.Name}
	if depth > 32 {
		return el, fmt.Errorf("elements nested too deep")
	}
	var text []byte
	for {
		tok, err := dec.Token()
		if err != nil {
			return el, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c, err := parseElement(dec, t, depth+1)
			if err != nil {
				return el, err
			}
			el.Children = append(el.Children, c)
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			el.Text = string(text)
			return el, nil
		}
	}
}

// delayedWriter holds the answer until the request's latency has passed
// since it arrived, so that the fake's own work is part of the latency.
type delayedWriter struct {
	http.ResponseWriter
	until  time.Time
	r      *http.Request
	waited bool
}

func (d *delayedWriter) wait() {
	if d.waited {
		return
	}
	d.waited = true
	if wait := time.Until(d.until); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-d.r.Context().Done():
		}
	}
}

func (d *delayedWriter) WriteHeader(code int) {
	d.wait()
	d.ResponseWriter.WriteHeader(code)
}

func (d *delayedWriter) Write(b []byte) (int, error) {
	d.wait()
	return d.ResponseWriter.Write(b)
}

func (s *Server) serve(hw http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	w := &delayedWriter{ResponseWriter: hw, until: time.Now().Add(latency), r: r}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		http.Error(w, "unsupported media type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequest+1))
	if err != nil || len(data) > maxRequest {
		http.Error(w, "request too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	env, err := parseDoc(data)
	if err != nil {
		writeFault(w, "soap:Client", "Server was unable to read request. ---> "+err.Error())
		return
	}
	body := env.Child("Body")
	if env.XMLName.Space != soapNS || env.XMLName.Local != "Envelope" || body == nil || body.XMLName.Space != soapNS || len(body.Children) != 1 {
		writeFault(w, "soap:Client", "Server was unable to read request: not a SOAP 1.1 envelope with one operation.")
		return
	}
	opEl := &body.Children[0]
	op := opEl.XMLName.Local
	if got, want := r.Header.Get("SOAPAction"), `"`+officetrack.Namespace+"/"+op+`"`; got != want {
		writeFault(w, "soap:Client", fmt.Sprintf("Server did not recognize the value of HTTP Header SOAPAction: %s.", got))
		return
	}
	if opEl.XMLName.Space != officetrack.Namespace {
		writeFault(w, "soap:Client", fmt.Sprintf("Server did not recognize the namespace %q of %s.", opEl.XMLName.Space, op))
		return
	}
	switch op {
	case "CreateOrUpdateTask", "GetTaskDetails", "InsertOrUpdatePointOfInterest":
	default:
		writeFault(w, "soap:Client", "Server did not recognize the operation "+op+".")
		return
	}

	s.mu.Lock()
	s.calls[op]++
	s.callNo++
	fault := NoFault
	if len(s.next) > 0 {
		fault, s.next = s.next[0], s.next[1:]
	} else if s.every > 0 && s.callNo%s.every == 0 {
		fault = s.everyFault
	}
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	stall := s.stall
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.last = time.Now()
		s.mu.Unlock()
	}()

	switch fault {
	case FaultTooMuchData:
		writeResult(w, op, result{Code: officetrack.CodeTooMuchDataToProcess, Messages: []string{"Too much data to process, try again later."}})
		return
	case FaultUnknownError:
		writeResult(w, op, result{Code: officetrack.CodeUnknownErrorHasOccurred, Messages: []string{"An unknown error has occurred."}})
		return
	case FaultHTTP500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<html><body><h1>Runtime Error</h1></body></html>")
		return
	case FaultSOAPFault:
		writeFault(w, "soap:Server", "Server was unable to process request. ---> Timeout expired.")
		return
	case FaultStall:
		select {
		case <-r.Context().Done():
		case <-stall:
		case <-time.After(time.Minute):
		}
		return
	}

	var res result
	switch op {
	case "CreateOrUpdateTask":
		res = s.createOrUpdateTask(opEl)
	case "GetTaskDetails":
		res = s.getTaskDetails(opEl)
	case "InsertOrUpdatePointOfInterest":
		res = s.insertOrUpdatePOI(opEl)
	}
	if res.fault != "" {
		writeFault(w, "soap:Client", res.fault)
		return
	}
	if fault == FaultLostAnswer {
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		return
	}
	writeResult(w, op, res)
}

type result struct {
	Code       string
	Messages   []string
	TaskNumber *int64
	Task       *officetrack.Task
	fault      string // a soap:Client fault (request not readable)
}

func text(el *officetrack.Element, name string) (string, bool) {
	c := el.Child(name)
	if c == nil {
		return "", false
	}
	return c.Text, true
}

// authLocked checks credentials; s.mu must be held.
func (s *Server) authLocked(el *officetrack.Element) *result {
	u, _ := text(el, "userName")
	p, _ := text(el, "password")
	if u != s.user || p != s.pass {
		return &result{Code: officetrack.CodeInvalidCredentials, Messages: []string{"Invalid user name or password or IP address."}}
	}
	return nil
}

func rowErr(code string, format string, args ...any) result {
	return result{Code: code, Messages: []string{fmt.Sprintf(format, args...)}}
}

func (s *Server) createOrUpdateTask(el *officetrack.Element) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.authLocked(el); r != nil {
		return *r
	}
	operation, _ := text(el, "operation")
	if operation != officetrack.OpCreate && operation != officetrack.OpUpdate && operation != officetrack.OpAutoSelect {
		return rowErr(officetrack.CodeValidationError, "Invalid operation %q.", operation)
	}
	tel := el.Child("task")
	if tel == nil {
		return rowErr(officetrack.CodeRequiredDataIsMissing, "task is missing.")
	}
	d, err := officetrack.DecodeTask(tel)
	if err != nil {
		return result{fault: "Server was unable to read request. ---> " + err.Error()}
	}
	if len(d.Unknown) > 0 {
		return rowErr(officetrack.CodeValidationError, "Unknown task elements: %s.", strings.Join(d.Unknown, ", "))
	}
	for _, name := range officetrack.TopLevelElements() {
		hv, flagged := d.HasValue[name]
		switch {
		case d.Present[name] && !hv:
			return rowErr(officetrack.CodeValidationError, "%s was sent without %sHasValue=true and would be ignored.", name, name)
		case hv && !d.Present[name]:
			return rowErr(officetrack.CodeValidationError, "%sHasValue is true but %s is missing.", name, name)
		case !flagged:
			return rowErr(officetrack.CodeValidationError, "%sHasValue is missing.", name)
		}
	}
	t := d.Task
	if t.TaskNumber == nil {
		return rowErr(officetrack.CodeRequiredDataIsMissing, "TaskNumber is required for operation %s.", operation)
	}
	n := *t.TaskNumber
	if e, ok := s.rowErrors[n]; ok {
		return rowErr(e[0], "%s", e[1])
	}
	if r := s.validateTaskLocked(&t); r != nil {
		return *r
	}
	old, exists := s.tasks[n]
	switch {
	case operation == officetrack.OpCreate && exists:
		return rowErr(officetrack.CodeTaskNumberAlreadyExists, "Task %d already exists.", n)
	case operation == officetrack.OpUpdate && !exists:
		return rowErr(officetrack.CodeTaskNumberNotFound, "Task %d was not found.", n)
	}
	if !exists {
		for _, f := range s.opts.RequiredOnCreate {
			if v, ok := t.Get(f); !ok || strings.TrimSpace(v) == "" {
				return rowErr(officetrack.CodeRequiredDataIsMissing, "%s is required to create task %d.", f, n)
			}
		}
		s.tasks[n] = t
	} else {
		for _, f := range officetrack.TaskFields() {
			if v, ok := t.Get(f.Name); ok {
				_ = old.Set(f.Name, v)
			}
		}
		s.tasks[n] = old
	}
	s.taskCalls[n]++
	return result{Code: officetrack.CodeOK, TaskNumber: &n}
}

func (s *Server) validateTaskLocked(t *officetrack.Task) *result {
	for _, f := range []string{"DueDateTime", "ExternalCreationDate"} {
		v, ok := t.Get(f)
		if !ok || v == "" {
			continue
		}
		parsed := false
		for _, l := range s.opts.DateLayouts {
			if _, err := time.Parse(l, v); err == nil {
				parsed = true
				break
			}
		}
		if !parsed {
			r := rowErr(officetrack.CodeInvalidDateFormat, "%s %q is not in a valid date format.", f, v)
			return &r
		}
	}
	if v, ok := t.Get("Status"); ok && v != "" && !slices.Contains(officetrack.TaskStatuses(), v) {
		r := rowErr(officetrack.CodeValidationError, "Status %q is not valid.", v)
		return &r
	}
	if t.Location != nil {
		if t.Location.X != nil && (*t.Location.X < -180 || *t.Location.X > 180) {
			r := rowErr(officetrack.CodeValidationError, "Location.X %v is not a longitude.", *t.Location.X)
			return &r
		}
		if t.Location.Y != nil && (*t.Location.Y < -90 || *t.Location.Y > 90) {
			r := rowErr(officetrack.CodeValidationError, "Location.Y %v is not a latitude.", *t.Location.Y)
			return &r
		}
	}
	return nil
}

func (s *Server) getTaskDetails(el *officetrack.Element) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.authLocked(el); r != nil {
		return *r
	}
	v, _ := text(el, "taskNumber")
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return result{fault: "Server was unable to read request. ---> taskNumber is not a long."}
	}
	t, ok := s.tasks[n]
	if !ok {
		return rowErr(officetrack.CodeTaskNumberNotFound, "Task %d was not found.", n)
	}
	return result{Code: officetrack.CodeOK, Task: &t}
}

func (s *Server) insertOrUpdatePOI(el *officetrack.Element) result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.authLocked(el); r != nil {
		return *r
	}
	operation, _ := text(el, "operation")
	if operation != officetrack.OpCreate && operation != officetrack.OpUpdate && operation != officetrack.OpAutoSelect {
		return rowErr(officetrack.CodeValidationError, "Invalid operation %q.", operation)
	}
	var p officetrack.POI
	for _, name := range officetrack.POIFields() {
		v, ok := text(el, name)
		if !ok {
			return result{fault: "Server was unable to read request. ---> parameter " + name + " is missing."}
		}
		if err := p.Set(name, v); err != nil {
			return result{fault: "Server was unable to read request. ---> " + err.Error()}
		}
	}
	if strings.TrimSpace(p.CustomerNumber) == "" {
		return rowErr(officetrack.CodeRequiredDataIsMissing, "customerNumber is required.")
	}
	if strings.TrimSpace(p.Name) == "" {
		return rowErr(officetrack.CodeRequiredDataIsMissing, "name is required.")
	}
	if !slices.Contains(officetrack.POITypes(), p.Type) {
		return rowErr(officetrack.CodeValidationError, "type %q is not valid (POI, Customer, Polygon, DistributionCenter, DistributionArea).", p.Type)
	}
	_, exists := s.pois[p.CustomerNumber]
	switch {
	case operation == officetrack.OpCreate && exists:
		return rowErr(officetrack.CodeOperationNotAllowed, "Point of interest %s already exists.", p.CustomerNumber)
	case operation == officetrack.OpUpdate && !exists:
		return rowErr(officetrack.CodeCustomerNumberNotFound, "Point of interest %s was not found.", p.CustomerNumber)
	}
	s.pois[p.CustomerNumber] = p
	return result{Code: officetrack.CodeOK}
}

const envOpen = `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>`
const envClose = `</soap:Body></soap:Envelope>`

func writeFault(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	var b strings.Builder
	b.WriteString(envOpen + "<soap:Fault><faultcode>" + code + "</faultcode><faultstring>")
	xml.EscapeText(&b, []byte(msg))
	b.WriteString("</faultstring><detail /></soap:Fault>" + envClose)
	io.WriteString(w, b.String())
}

func writeResult(w http.ResponseWriter, op string, r result) {
	type msgs struct {
		S []string `xml:"string"`
	}
	type body struct {
		XMLName         xml.Name
		ResultCode      string
		ResultCodeAsInt int
		ResultMessages  msgs
		TaskNumber      *int64            `xml:",omitempty"`
		Task            *officetrack.Task `xml:",omitempty"`
	}
	b := body{XMLName: xml.Name{Local: op + "Result"}, ResultCode: r.Code,
		ResultCodeAsInt: officetrack.CodeInt(r.Code), ResultMessages: msgs{r.Messages},
		TaskNumber: r.TaskNumber, Task: r.Task}
	out, err := xml.Marshal(b)
	if err != nil {
		writeFault(w, "soap:Server", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, envOpen+`<`+op+`Response xmlns="`+officetrack.Namespace+`">`)
	w.Write(out)
	io.WriteString(w, `</`+op+`Response>`+envClose)
}
