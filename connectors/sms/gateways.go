package sms

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fieldbridge/fieldbridge/connectors/internal/httpapi"
)

// zenvia: POST /v2/channels/sms/messages with X-API-TOKEN and a JSON body
// {"from", "to" (digits), "contents": [{"type": "text", "text"}]}; 200/201
// with {"id": …}. Errors: {"code", "message", "details": [{"path", "message"}]}.
type zenvia struct{ c *Client }

func (z zenvia) header() http.Header {
	return http.Header{"X-Api-Token": {z.c.o.Token}, "Accept": {"application/json"}, "Content-Type": {"application/json"}}
}

func (z zenvia) send(to, text string) httpapi.Request {
	type content struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	body, _ := json.Marshal(struct {
		From     string    `json:"from"`
		To       string    `json:"to"`
		Contents []content `json:"contents"`
	}{z.c.o.From, Digits(to), []content{{"text", text}}})
	return httpapi.Request{Op: "send", Method: http.MethodPost, URL: z.c.url("/v2/channels/sms/messages"), Header: z.header(), Body: body}
}

func (z zenvia) sentID(body []byte) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	return v.ID, nil
}

func (z zenvia) check() httpapi.Request {
	h := z.header()
	h.Del("Content-Type")
	return httpapi.Request{Op: "account", Method: http.MethodGet, URL: z.c.url("/v2/subscriptions"), Header: h}
}

func (z zenvia) reason(body []byte) string {
	var v struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &v) != nil || v.Message == "" && v.Code == "" {
		return httpapi.Snippet(body)
	}
	parts := []string{strings.TrimSpace(v.Code + " " + v.Message)}
	for _, d := range v.Details {
		parts = append(parts, strings.TrimSpace(d.Path+": "+d.Message))
	}
	return httpapi.Snippet([]byte(strings.Join(parts, "; ")))
}

// twilio: POST /2010-04-01/Accounts/<sid>/Messages.json with basic auth
// and form fields To, From (or MessagingServiceSid), Body; 201 with
// {"sid": …}. Errors: {"code": 21211, "message": …, "status": 400}.
type twilio struct{ c *Client }

func (t twilio) header(form bool) http.Header {
	h := http.Header{"Accept": {"application/json"}}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(t.c.o.AccountSID, t.c.o.AuthToken)
	h.Set("Authorization", req.Header.Get("Authorization"))
	if form {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return h
}

func (t twilio) account() string { return "/2010-04-01/Accounts/" + url.PathEscape(t.c.o.AccountSID) }

func (t twilio) send(to, text string) httpapi.Request {
	f := url.Values{"To": {to}, "Body": {text}}
	if strings.HasPrefix(t.c.o.From, "MG") {
		f.Set("MessagingServiceSid", t.c.o.From)
	} else {
		f.Set("From", t.c.o.From)
	}
	return httpapi.Request{Op: "send", Method: http.MethodPost, URL: t.c.url(t.account() + "/Messages.json"),
		Header: t.header(true), Body: []byte(f.Encode())}
}

func (t twilio) sentID(body []byte) (string, error) {
	var v struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", err
	}
	if v.SID == "" {
		return "", errors.New("no sid")
	}
	return v.SID, nil
}

func (t twilio) check() httpapi.Request {
	return httpapi.Request{Op: "account", Method: http.MethodGet, URL: t.c.url(t.account() + ".json"), Header: t.header(false)}
}

func (t twilio) reason(body []byte) string {
	var v struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil || v.Message == "" {
		return httpapi.Snippet(body)
	}
	if v.Code != 0 {
		return httpapi.Snippet([]byte(v.Message + " (Twilio error " + strconv.Itoa(v.Code) + ")"))
	}
	return httpapi.Snippet([]byte(v.Message))
}
