package findme

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// callbackBody is what the callback URL receives.
type callbackBody struct {
	botAnswer
	Chat string `json:"chat,omitempty"`
}

// callback posts a chosen link's answer to the callback URL, when one is
// configured, in the background: retried with backoff for about a minute
// (a 2xx answer ends it; 4xx other than 408/429 too, logged).
func (s *Service) callback(id string, l link) {
	if s.o.CallbackURL == "" && s.d.Deliver == nil {
		return
	}
	body, err := json.Marshal(callbackBody{botAnswer: botAnswer{Answer: *l.Answer, ID: id}, Chat: l.Chat})
	if err != nil {
		return
	}
	deliver := s.d.Deliver
	if deliver == nil {
		client := &http.Client{Timeout: 10 * time.Second}
		deliver = func(ctx context.Context, body []byte) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.CallbackURL, bytes.NewReader(body))
			if err != nil {
				return permanent{err}
			}
			req.Header.Set("Content-Type", "application/json")
			if s.o.CallbackToken != "" {
				req.Header.Set("Authorization", "Bearer "+s.o.CallbackToken)
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2:
				return nil
			case resp.StatusCode/100 == 4 && resp.StatusCode != 408 && resp.StatusCode != 429:
				return permanent{fmt.Errorf("HTTP %d", resp.StatusCode)}
			}
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
	}
	s.bg.Go(func() {
		ctx, cancel := context.WithTimeout(s.bgCtx, time.Minute)
		defer cancel()
		wait := 500 * time.Millisecond
		for {
			err := deliver(ctx, body)
			if err == nil {
				s.d.Log.Info("findme: answer delivered to the callback", "id", id)
				return
			}
			if _, ok := err.(permanent); ok || ctx.Err() != nil {
				s.d.Log.Warn("findme: the callback did not take the answer; the bot can still poll for it", "id", id, "err", err)
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, 15*time.Second)
		}
	})
}

// permanent marks a callback failure not worth a retry.
type permanent struct{ error }
