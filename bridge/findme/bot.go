package findme

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/fieldbridge/fieldbridge/bridge"
	"github.com/fieldbridge/fieldbridge/bridge/ledger"
	"github.com/fieldbridge/fieldbridge/connectors/fortics"
	"github.com/fieldbridge/fieldbridge/connectors/sms"
)

// maxBotBody bounds the bot's request body.
const maxBotBody = 4096

// Routes are the bot's routes (checked against the bot's token here) and
// the customer's page (public: the token in the link is the key). All are
// Logged: the server does not log their paths, which hold the link tokens.
func (s *Service) Routes() []bridge.Route {
	return []bridge.Route{
		{Pattern: s.o.Path, Handler: http.HandlerFunc(s.serveBot), Public: true, Logged: true},
		{Pattern: s.o.Path + "/", Handler: http.HandlerFunc(s.serveBot), Public: true, Logged: true},
		{Pattern: "/l/", Handler: s.page, Public: true, Logged: true},
	}
}

// botAnswer is what the bot receives: the viability answer's keys, plus
// the link's id and expiry.
type botAnswer struct {
	fortics.Answer
	ID        string `json:"id"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

func (s *Service) refuse(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, botAnswer{Answer: fortics.Answer{Status: status, Message: msg}})
}

// botToken is the token the bot sent: ?token=, X-Token, or a Bearer
// Authorization.
func botToken(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	if t := r.Header.Get("X-Token"); t != "" {
		return t
	}
	if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(a)
	}
	return ""
}

func (s *Service) serveBot(w http.ResponseWriter, r *http.Request) {
	if !s.tokenOK(botToken(r)) {
		s.refuse(w, http.StatusUnauthorized, fortics.StatusUnauthorized, s.text(txtUnauthorized))
		return
	}
	id, sub := strings.CutPrefix(r.URL.Path, s.o.Path+"/")
	switch {
	case r.URL.Path == s.o.Path && r.Method == http.MethodPost:
		s.sendLink(w, r)
	case sub && id != "" && !strings.Contains(id, "/") && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.status(w, r, id)
	case r.URL.Path == s.o.Path || sub:
		w.Header().Set("Allow", "POST (the link), GET (the answer)")
		s.refuse(w, http.StatusMethodNotAllowed, fortics.StatusInvalidRequest, s.text(txtMethod))
	default:
		s.refuse(w, http.StatusNotFound, fortics.StatusInvalidRequest, s.text(txtMethod))
	}
}

// sendLink is POST <path>: {"phone": "...", "chat": "..."} (JSON or a
// form) → the link is sent by SMS.
func (s *Service) sendLink(w http.ResponseWriter, r *http.Request) {
	if s.perToken != nil && !s.perToken.Allow() {
		w.Header().Set("Retry-After", "10")
		s.refuse(w, http.StatusTooManyRequests, fortics.StatusRateLimited, s.text(txtTooMany))
		return
	}
	var req struct {
		Phone string `json:"phone"`
		Chat  string `json:"chat"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBotBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "application/x-www-form-urlencoded" {
		err = r.ParseForm()
		req.Phone, req.Chat = r.PostForm.Get("phone"), r.PostForm.Get("chat")
	} else {
		var b []byte
		if b, err = io.ReadAll(r.Body); err == nil {
			err = json.Unmarshal(b, &req)
		}
	}
	if err != nil {
		s.refuse(w, http.StatusBadRequest, fortics.StatusInvalidRequest, s.text(txtBadBody))
		return
	}
	phone, err := sms.Normalize(req.Phone, s.o.Country)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, fortics.StatusInvalidRequest, s.text(txtBadPhone))
		return
	}
	masked := sms.Mask(phone)
	if !s.allowNumber(phone) {
		w.Header().Set("Retry-After", "3600")
		s.refuse(w, http.StatusTooManyRequests, fortics.StatusRateLimited, s.text(txtNumberTooMany, masked))
		return
	}
	token, id, sum := newToken()
	now := s.d.Now()
	l := link{TokenSum: hexSum(sum), Masked: masked, Chat: truncate(req.Chat, 200), Created: now,
		Expires: now.Add(s.o.LinkTTL.Duration), State: StateWaiting}
	if err := s.save(r.Context(), id, l); err != nil {
		s.d.Log.Error("findme: ledger", "err", err)
		s.refuse(w, http.StatusServiceUnavailable, fortics.StatusUnavailable, s.text(txtUnavailable))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	_, err = s.d.Sender.Send(ctx, phone, s.smsText(s.linkURL(token)))
	if errors.Is(err, sms.ErrUncertain) {
		// The gateway may have taken it: the link stays valid (the
		// customer may be reading it), and asking for a second SMS is
		// left to the customer, through the bot.
		s.d.Log.Warn("findme: the SMS gateway did not confirm the message; the link stays valid", "id", id, "to", masked, "err", err)
		writeJSON(w, http.StatusOK, botAnswer{Answer: fortics.Answer{Status: "sent", Message: s.text(txtSentUnconfirmed, masked)},
			ID: id, ExpiresAt: l.Expires.UTC().Format(time.RFC3339)})
		return
	}
	if err != nil {
		// The link cannot be used: forget it and the number now.
		l.State = StateExpired
		_ = s.save(context.WithoutCancel(r.Context()), id, l)
		s.d.Log.Warn("findme: the SMS was not sent", "to", masked, "err", err)
		if errors.Is(err, sms.ErrRejected) {
			s.refuse(w, http.StatusBadRequest, fortics.StatusInvalidRequest, s.text(txtSMSRejected, masked))
			return
		}
		s.refuse(w, http.StatusServiceUnavailable, fortics.StatusUnavailable, s.text(txtUnavailable))
		return
	}
	s.d.Log.Info("findme: link sent", "id", id, "to", masked)
	writeJSON(w, http.StatusOK, botAnswer{Answer: fortics.Answer{Status: "sent", Message: s.text(txtSent, masked)},
		ID: id, ExpiresAt: l.Expires.UTC().Format(time.RFC3339)})
}

// status is GET <path>/<id>: waiting, the answer, or expired.
func (s *Service) status(w http.ResponseWriter, r *http.Request, id string) {
	l, err := s.load(r.Context(), id)
	if errors.Is(err, ledger.ErrNotFound) {
		s.refuse(w, http.StatusNotFound, fortics.StatusInvalidRequest, s.text(txtNoSuchID))
		return
	}
	if err != nil {
		s.refuse(w, http.StatusServiceUnavailable, fortics.StatusUnavailable, s.text(txtUnavailable))
		return
	}
	if s.expire(&l) {
		_ = s.save(r.Context(), id, l)
	}
	out := botAnswer{ID: id, ExpiresAt: l.Expires.UTC().Format(time.RFC3339)}
	switch l.State {
	case StateAnswered:
		out.Answer = *l.Answer
	case StateExpired:
		out.Answer = fortics.Answer{Status: StateExpired, Message: s.text(txtExpiredBot)}
	default:
		out.Answer = fortics.Answer{Status: StateWaiting, Message: s.text(txtWaiting, l.Masked)}
	}
	writeJSON(w, http.StatusOK, out)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
