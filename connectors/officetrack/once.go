package officetrack

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Values returns the fields of t that are set, by name (see TaskFields),
// as the text Get gives: what a CreateOrUpdateTask call applies.
func (t *Task) Values() map[string]string {
	out := map[string]string{}
	for _, f := range TaskFields() {
		if v, ok := t.Get(f.Name); ok {
			out[f.Name] = v
		}
	}
	return out
}

// HeldBy reports whether held (a task read back with GetTaskDetails)
// has every field of t that t sets, with the same value: whether sending
// t again would change nothing.
func (t *Task) HeldBy(held *Task) bool {
	for _, f := range TaskFields() {
		v, ok := t.Get(f.Name)
		if !ok {
			continue
		}
		if h, ok := held.Get(f.Name); !ok || h != v {
			return false
		}
	}
	return true
}

// Values returns every field of p by name (see POIFields).
func (p *POI) Values() map[string]string {
	out := map[string]string{}
	for _, f := range POIFields() {
		if v, ok := p.Get(f); ok && (v != "" || f == "isParent") {
			out[f] = v
		}
	}
	return out
}

// Delivery tells how CreateOrUpdateTaskOnce ended.
type Delivery struct {
	// Tries is the number of CreateOrUpdateTask calls made.
	Tries int
	// Confirmed is true when a lost answer was followed by GetTaskDetails
	// showing the task as sent: the call had been applied, and it was
	// not made again.
	Confirmed bool
}

// CreateOrUpdateTaskOnce sends t with AutoSelect, like CreateOrUpdateTask,
// for callers that must not apply a task twice. A try whose answer was
// lost (the connection failed or timed out after the request went out, an
// HTTP 5xx, a server fault) may have been applied; before it is tried
// again the task is read back with GetTaskDetails, and when OfficeTrack
// already holds every field of t the send is complete (Confirmed) and no
// second call is made. A transient result code (TooMuchDataToProcess,
// UnknownErrorHasOccurred) is the service's own answer that it did not
// apply the task, and is simply retried.
func (c *Client) CreateOrUpdateTaskOnce(ctx context.Context, t Task) (TaskResult, Delivery, error) {
	const op = "CreateOrUpdateTask"
	if t.TaskNumber == nil {
		return TaskResult{}, Delivery{}, fmt.Errorf("officetrack %s: the task has no TaskNumber", op)
	}
	body := c.taskEnvelope(OpAutoSelect, &t)
	var d Delivery
	var out TaskResult
	inDoubt := false
	err := c.retry.Do(ctx, op, func(ctx context.Context) (time.Duration, error) {
		if inDoubt {
			held, err := c.getTaskDetailsOnce(ctx, *t.TaskNumber)
			switch {
			case err == nil && t.HeldBy(&held.Task):
				d.Confirmed = true
				out = TaskResult{ResultCode: CodeOK, TaskNumber: *t.TaskNumber}
				return 0, nil
			case err != nil && !errors.Is(err, ErrTaskNotFound):
				return 0, err // cannot tell yet: still in doubt
			}
			inDoubt = false
		}
		var res struct {
			R TaskResult `xml:"CreateOrUpdateTaskResult"`
		}
		d.Tries++
		ra, err := c.once(ctx, op, body, &res)
		if err == nil {
			if cl := Classify(res.R.ResultCode, res.R.ResultCodeAsInt); cl != Success {
				err = &ResultError{Op: op, Code: res.R.ResultCode, CodeInt: res.R.ResultCodeAsInt, Messages: res.R.ResultMessages}
			}
		}
		out = res.R
		inDoubt = err != nil && AnswerLost(err)
		return ra, err
	})
	if err != nil && ctx.Err() == nil && ClassOf(err) == Transient && !errors.Is(err, ErrTransient) {
		err = fmt.Errorf("%w: %w", ErrTransient, err)
	}
	return out, d, err
}

// ErrTaskNotFound matches (errors.Is) the ResultError of a GetTaskDetails
// for a task number OfficeTrack does not know.
var ErrTaskNotFound = errors.New("officetrack: task not found")

// AnswerLost reports whether err leaves it unknown if the service applied
// the call: the request may have arrived, and no answer of the service
// says otherwise.
func AnswerLost(err error) bool {
	var re *ResultError
	if errors.As(err, &re) {
		return false // the service answered with a result code
	}
	var fe *FaultError
	if errors.As(err, &fe) {
		return !fe.Client() // a client fault: the request was not read
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status >= 500
	}
	var ne *netError
	return errors.As(err, &ne)
}

// getTaskDetailsOnce is GetTaskDetails without retries (the caller's
// retry loop repeats it).
func (c *Client) getTaskDetailsOnce(ctx context.Context, taskNumber int64) (TaskDetails, error) {
	return c.getTaskDetails(ctx, taskNumber, func(ctx context.Context, op string, req, res any, code func() (string, int, []string)) error {
		body, err := Envelope(req)
		if err != nil {
			return err
		}
		if _, err := c.once(ctx, op, body, res); err != nil {
			return err
		}
		if rc, ri, msgs := code(); Classify(rc, ri) != Success {
			return &ResultError{Op: op, Code: rc, CodeInt: ri, Messages: msgs}
		}
		return nil
	})
}
