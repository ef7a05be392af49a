package sms_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fieldbridge/fieldbridge/connectors/sms"
	"github.com/fieldbridge/fieldbridge/connectors/sms/smstest"
)

const to = "+5548998765432"

func client(t *testing.T, f *smstest.Server, provider string, edit func(*sms.Options)) (*sms.Client, *bytes.Buffer) {
	t.Helper()
	o := f.ClientOptions(provider)
	if edit != nil {
		edit(&o)
	}
	var logs bytes.Buffer
	c, err := sms.New(o, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return c, &logs
}

func TestSend(t *testing.T) {
	for _, provider := range []string{sms.Zenvia, sms.Twilio} {
		t.Run(provider, func(t *testing.T) {
			ctx := context.Background()
			tests := []struct {
				name   string
				setup  func(f *smstest.Server)
				edit   func(*sms.Options)
				want   error // nil: accepted
				calls  int   // requests the gateway saw
				stored int   // messages it accepted
			}{
				{name: "accepted", calls: 1, stored: 1},
				{name: "number refused (400)", setup: func(f *smstest.Server) { f.Refuse(to) }, want: sms.ErrRejected, calls: 1},
				{name: "wrong credentials (401)", edit: func(o *sms.Options) { o.Token, o.AuthToken = "wrong", "wrong" }, want: sms.ErrUnauthorized, calls: 1},
				{name: "429 then accepted", setup: func(f *smstest.Server) { f.FailNext(1, http.StatusTooManyRequests); f.SetRetryAfter("0") }, calls: 2, stored: 1},
				{name: "503 twice then accepted", setup: func(f *smstest.Server) { f.FailNext(2, http.StatusServiceUnavailable) }, calls: 3, stored: 1},
				// A request that went out unanswered is not sent again:
				// the gateway may have taken it (a second SMS otherwise).
				{name: "answer lost after the gateway took it", setup: func(f *smstest.Server) { f.DropAfterNext(1) }, want: sms.ErrUncertain, calls: 1, stored: 1},
				{name: "connection lost before an answer", setup: func(f *smstest.Server) { f.DropNext(1) }, want: sms.ErrUncertain, calls: 1},
				{name: "down for good", setup: func(f *smstest.Server) { f.FailNext(100, http.StatusInternalServerError) }, want: sms.ErrUnavailable, calls: 5},
				{name: "retries off", setup: func(f *smstest.Server) { f.FailNext(1, http.StatusBadGateway) },
					edit: func(o *sms.Options) { o.MaxRetries = -1 }, want: sms.ErrUnavailable, calls: 1},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f := smstest.NewServer()
					defer f.Close()
					if tt.setup != nil {
						tt.setup(f)
					}
					c, logs := client(t, f, provider, tt.edit)
					id, err := c.Send(ctx, to, "Escolha o local: https://x.example/l/abc")
					if tt.want == nil && (err != nil || id == "") {
						t.Fatalf("Send = %q, %v", id, err)
					}
					if tt.want != nil && !errors.Is(err, tt.want) {
						t.Fatalf("Send error %v, want %v", err, tt.want)
					}
					if got := f.Calls(provider); got != tt.calls {
						t.Errorf("gateway saw %d requests, want %d", got, tt.calls)
					}
					msgs := f.Messages()
					if len(msgs) != tt.stored {
						t.Fatalf("%d messages accepted, want %d", len(msgs), tt.stored)
					}
					if tt.stored == 1 && (msgs[0].To != "5548998765432" || !strings.Contains(msgs[0].Text, "/l/abc")) {
						t.Errorf("message %+v", msgs[0])
					}
					for _, s := range []string{"998765432", "5548998765432"} {
						if err != nil && strings.Contains(err.Error(), s) {
							t.Errorf("the error shows the number: %v", err)
						}
						if strings.Contains(logs.String(), s) {
							t.Errorf("the log shows the number: %s", logs)
						}
					}
				})
			}
		})
	}
}

// TestRefusalNamesTheReason: the gateway's own reason is kept, the number
// masked.
func TestRefusalNamesTheReason(t *testing.T) {
	for provider, reason := range map[string]string{sms.Zenvia: "not a valid mobile number", sms.Twilio: "Twilio error 21614"} {
		f := smstest.NewServer()
		f.Refuse(to)
		c, _ := client(t, f, provider, nil)
		_, err := c.Send(context.Background(), to, "x")
		var ae *sms.APIError
		if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), "(48) 9****-5432") {
			t.Errorf("%s: %v", provider, err)
		}
		f.Close()
	}
}

func TestSendRefusesUnnormalizedNumber(t *testing.T) {
	f := smstest.NewServer()
	defer f.Close()
	c, _ := client(t, f, sms.Zenvia, nil)
	if _, err := c.Send(context.Background(), "48 99876-5432", "x"); !errors.Is(err, sms.ErrRejected) {
		t.Errorf("Send = %v", err)
	}
	if f.TotalCalls() != 0 {
		t.Error("a call was made")
	}
}

// TestSendHonoursDeadline: a gateway that never answers ends within the
// caller's deadline, uncertain (it may have taken the message).
func TestSendHonoursDeadline(t *testing.T) {
	f := smstest.NewServer()
	defer f.Close()
	f.SetLatency(3 * time.Second) // (the fake's Close waits for it)
	c, _ := client(t, f, sms.Twilio, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Send(ctx, to, "x")
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Send = %v after %v", err, time.Since(start))
	}
	if !errors.Is(err, sms.ErrUncertain) || f.Calls(sms.Twilio) != 1 {
		t.Errorf("error %v after %d requests, want ErrUncertain after 1", err, f.Calls(sms.Twilio))
	}
}

func TestCheck(t *testing.T) {
	for _, provider := range []string{sms.Zenvia, sms.Twilio} {
		f := smstest.NewServer()
		c, _ := client(t, f, provider, nil)
		if err := c.Check(context.Background()); err != nil {
			t.Errorf("%s: Check = %v", provider, err)
		}
		bad, _ := client(t, f, provider, func(o *sms.Options) { o.Token, o.AuthToken = "nope", "nope" })
		if err := bad.Check(context.Background()); !errors.Is(err, sms.ErrUnauthorized) {
			t.Errorf("%s: Check with wrong credentials = %v", provider, err)
		}
		if len(f.Messages()) != 0 {
			t.Errorf("%s: Check sent a message", provider)
		}
		f.Close()
	}
}

func TestOptionsCheck(t *testing.T) {
	tests := []struct {
		o    sms.Options
		want []string
	}{
		{sms.Options{}, []string{"provider: missing", "from: missing"}},
		{sms.Options{Provider: "nexmo", From: "x"}, []string{`"nexmo" is not`}},
		{sms.Options{Provider: "zenvia", From: "x"}, []string{"token: missing"}},
		{sms.Options{Provider: "twilio", From: "+1"}, []string{"account_sid: missing", "auth_token: missing"}},
		{sms.Options{Provider: "zenvia", From: "x", Token: "t", BaseURL: "ftp://x"}, []string{"base_url:"}},
		{sms.Options{Provider: "zenvia", From: "x", Token: "t"}, nil},
	}
	for _, tt := range tests {
		err := tt.o.Check()
		if len(tt.want) == 0 && err != nil {
			t.Errorf("%+v: %v", tt.o, err)
		}
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %v, want %q", tt.o, err, w)
			}
		}
	}
}
