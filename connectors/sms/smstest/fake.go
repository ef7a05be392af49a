// Package smstest is a fake of the two SMS gateways of
// ../shared/contracts/findme.md, for tests and `fieldbridge demo`: Zenvia's
// POST /v2/channels/sms/messages (X-API-TOKEN, JSON) and GET
// /v2/subscriptions, and Twilio's POST
// /2010-04-01/Accounts/<sid>/Messages.json (basic auth, form) and GET
// /2010-04-01/Accounts/<sid>.json, on one server. It keeps every message
// it accepted, refuses numbers it was told to (the providers' own 400
// bodies), and injects faults (latency, 429/5xx, dropped connections)
// through the embedded faketest.Faults.
package smstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/internal/faketest"
	"github.com/fieldbridge/fieldbridge/connectors/sms"
)

// Message is one message a gateway accepted.
type Message struct {
	Provider string // "zenvia" or "twilio"
	ID       string
	From     string
	// To is the number's digits, without "+" ("5548998765432").
	To   string
	Text string
	At   time.Time
}

// Server is a running fake of both gateways. Safe for concurrent use.
//
// Faults and call counters come from the embedded Faults (SetLatency,
// FailNext, SetRetryAfter, DropNext, DropAfterNext; Calls by "zenvia" and
// "twilio").
type Server struct {
	faketest.Faults

	ts *httptest.Server
	// credentials
	ZenviaToken, ZenviaFrom        string
	TwilioSID, TwilioToken, TwFrom string

	mu      sync.Mutex
	msgs    []Message
	refuse  map[string]bool // digits
	onMsg   func(Message)
	maxText int
}

// NewServer starts the fake on 127.0.0.1. Close it when done.
func NewServer() *Server {
	s := &Server{ZenviaToken: "zenvia-fake-" + randHex(8), ZenviaFrom: "fibra",
		TwilioSID: "AC" + randHex(16), TwilioToken: randHex(16), TwFrom: "+15005550006",
		refuse: map[string]bool{}, maxText: 1600}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/channels/sms/messages", s.zenviaSend)
	mux.HandleFunc("GET /v2/subscriptions", s.zenviaSubscriptions)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.twilioSend)
	mux.HandleFunc("GET /2010-04-01/Accounts/{acct}", s.twilioAccount)
	s.ts = httptest.NewServer(mux)
	return s
}

// URL is the fake's root (both providers' base_url).
func (s *Server) URL() string { return s.ts.URL }

// Close stops the fake.
func (s *Server) Close() { s.ts.Close() }

// ClientOptions returns the options of a client of provider ("zenvia" or
// "twilio") on this fake, with short retry delays.
func (s *Server) ClientOptions(provider string) sms.Options {
	o := sms.DefaultOptions()
	o.Provider, o.BaseURL = provider, s.ts.URL
	switch provider {
	case sms.Twilio:
		o.AccountSID, o.AuthToken, o.From = s.TwilioSID, s.TwilioToken, s.TwFrom
	default:
		o.Token, o.From = s.ZenviaToken, s.ZenviaFrom
	}
	o.RetryBase, o.RetryMax = 10*time.Millisecond, 100*time.Millisecond
	return o
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// OnMessage calls f (in the request's goroutine) with each message
// accepted: the demo's "delivery".
func (s *Server) OnMessage(f func(Message)) {
	s.mu.Lock()
	s.onMsg = f
	s.mu.Unlock()
}

// Refuse makes the gateways refuse messages to the number (E.164 or
// digits) with their own 400 body, as for a number that does not exist.
func (s *Server) Refuse(number string) {
	s.mu.Lock()
	s.refuse[strings.TrimPrefix(number, "+")] = true
	s.mu.Unlock()
}

func (s *Server) accept(m Message) Message {
	m.ID, m.At = randHex(16), time.Now()
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	f := s.onMsg
	s.mu.Unlock()
	if f != nil {
		f(m)
	}
	return m
}

func (s *Server) refused(digits string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuse[digits]
}

// ---- Zenvia ----

type zenviaErr struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details []zenviaDetail `json:"details,omitempty"`
}

type zenviaDetail struct {
	Code    string `json:"code"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func zenviaFail(w http.ResponseWriter, status int, e zenviaErr) { writeJSON(w, status, e) }

func zenviaFault(w http.ResponseWriter, status int) {
	zenviaFail(w, status, zenviaErr{Code: "ERROR", Message: http.StatusText(status)})
}

func (s *Server) zenviaAuth(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("X-API-TOKEN") != s.ZenviaToken {
		zenviaFail(w, http.StatusUnauthorized, zenviaErr{Code: "AUTHENTICATION_ERROR", Message: "No authorization token was found"})
		return false
	}
	return true
}

func (s *Server) zenviaSend(w http.ResponseWriter, r *http.Request) {
	faketest.Serve(&s.Faults, w, r, sms.Zenvia, zenviaFault, func(w http.ResponseWriter) {
		if !s.zenviaAuth(w, r) {
			return
		}
		var req struct {
			From     string `json:"from"`
			To       string `json:"to"`
			Contents []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"contents"`
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err := json.Unmarshal(b, &req); err != nil {
			zenviaFail(w, http.StatusBadRequest, zenviaErr{Code: "VALIDATION_ERROR", Message: "Validation error",
				Details: []zenviaDetail{{Code: "INVALID_JSON", Path: "body", Message: err.Error()}}})
			return
		}
		var details []zenviaDetail
		if req.From != s.ZenviaFrom {
			details = append(details, zenviaDetail{"CHANNEL_NOT_FOUND", "from", "The sender " + req.From + " is not registered for the channel sms"})
		}
		if !digitsOnly(req.To) || len(req.To) < 10 || len(req.To) > 15 {
			details = append(details, zenviaDetail{"INVALID_PARAMETER", "to", "must be the number with country and area code, digits only: " + req.To})
		}
		if len(req.Contents) != 1 || req.Contents[0].Type != "text" || req.Contents[0].Text == "" || len(req.Contents[0].Text) > s.maxText {
			details = append(details, zenviaDetail{"INVALID_PARAMETER", "contents", "one text content of 1 to 1600 characters"})
		}
		if len(details) == 0 && s.refused(req.To) {
			details = append(details, zenviaDetail{"INVALID_PARAMETER", "to", "The number " + req.To + " is not a valid mobile number"})
		}
		if len(details) > 0 {
			zenviaFail(w, http.StatusBadRequest, zenviaErr{Code: "VALIDATION_ERROR", Message: "Validation error", Details: details})
			return
		}
		m := s.accept(Message{Provider: sms.Zenvia, From: req.From, To: req.To, Text: req.Contents[0].Text})
		writeJSON(w, http.StatusOK, map[string]any{"id": m.ID, "from": m.From, "to": m.To, "direction": "OUT",
			"channel": "sms", "contents": req.Contents, "timestamp": m.At.UTC().Format(time.RFC3339)})
	})
}

func (s *Server) zenviaSubscriptions(w http.ResponseWriter, r *http.Request) {
	faketest.Serve(&s.Faults, w, r, sms.Zenvia, zenviaFault, func(w http.ResponseWriter) {
		if s.zenviaAuth(w, r) {
			writeJSON(w, http.StatusOK, []any{})
		}
	})
}

// ---- Twilio ----

func twilioFail(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), "status": status})
}

func twilioFault(w http.ResponseWriter, status int) {
	twilioFail(w, status, 20500, http.StatusText(status))
}

func (s *Server) twilioAuth(w http.ResponseWriter, r *http.Request, sid string) bool {
	u, p, ok := r.BasicAuth()
	if !ok || u != s.TwilioSID || p != s.TwilioToken || sid != s.TwilioSID {
		twilioFail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	return true
}

func (s *Server) twilioSend(w http.ResponseWriter, r *http.Request) {
	faketest.Serve(&s.Faults, w, r, sms.Twilio, twilioFault, func(w http.ResponseWriter) {
		if !s.twilioAuth(w, r, r.PathValue("sid")) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			twilioFail(w, http.StatusBadRequest, 21620, "Invalid body")
			return
		}
		to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
		if ms := r.PostForm.Get("MessagingServiceSid"); ms != "" {
			from = ms
		}
		switch {
		case to == "":
			twilioFail(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		case !strings.HasPrefix(to, "+") || !digitsOnly(to[1:]) || len(to) < 9 || len(to) > 16:
			twilioFail(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+to)
		case from != s.TwFrom && !strings.HasPrefix(from, "MG"):
			twilioFail(w, http.StatusBadRequest, 21606, "The From phone number "+from+" is not a valid, SMS-capable inbound phone number or short code for your account.")
		case body == "" || len(body) > s.maxText:
			twilioFail(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		case s.refused(to[1:]):
			twilioFail(w, http.StatusBadRequest, 21614, "'To' number "+to+" is not a valid mobile number")
		default:
			m := s.accept(Message{Provider: sms.Twilio, From: from, To: to[1:], Text: body})
			writeJSON(w, http.StatusCreated, map[string]any{"sid": "SM" + m.ID, "account_sid": s.TwilioSID, "to": to,
				"from": from, "body": body, "status": "queued", "num_segments": "1", "direction": "outbound-api"})
		}
	})
}

func (s *Server) twilioAccount(w http.ResponseWriter, r *http.Request) {
	faketest.Serve(&s.Faults, w, r, sms.Twilio, twilioFault, func(w http.ResponseWriter) {
		sid, ok := strings.CutSuffix(r.PathValue("acct"), ".json")
		if !ok {
			http.NotFound(w, r)
			return
		}
		if s.twilioAuth(w, r, sid) {
			writeJSON(w, http.StatusOK, map[string]any{"sid": sid, "status": "active", "type": "Full"})
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
