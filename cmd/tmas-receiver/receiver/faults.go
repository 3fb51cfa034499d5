package receiver

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"

	"github.com/tmas/storeagent/importers/record"
)

// Faults are misbehaviours injected at run time, each one something the
// upstream contract allows headquarters to do. The zero value injects nothing.
// SetFaults replaces the whole set; counts go down as faults fire.
type Faults struct {
	// Status, when set, is answered to authenticated POST /v1/batches
	// requests instead of processing them: 429, 503 or another 5xx.
	Status int `json:"status,omitempty"`
	// Count is how many requests get Status; 0 means every request until
	// the faults are replaced.
	Count int `json:"count,omitempty"`
	// RetryAfter goes with a 429 or 503: seconds ("120") or an HTTP date
	// ("Wed, 21 Oct 2026 07:28:00 GMT").
	RetryAfter string `json:"retry_after,omitempty"`
	// Delay is waited before answering every /v1/ request ("2s", "1m"),
	// after the request's work is done: a batch is stored before the delay,
	// so an agent that stops waiting has to resend it. The wait ends early
	// when the client goes away or the Receiver is closed.
	Delay record.Duration `json:"delay,omitempty"`
	// ResetAfterStore makes the next n batches that would be answered 200
	// (stored, or replayed) end with the connection reset and no answer,
	// after the batch is durably stored.
	ResetAfterStore int `json:"reset_after_store,omitempty"`
	// MaxLines, when lower than the configured limit, lowers it (413 beyond).
	MaxLines int `json:"max_lines,omitempty"`
	// RejectKeys makes lines with these record keys invalid (422), with the
	// given error text ("" gives "refused by headquarters").
	RejectKeys map[string]string `json:"reject_keys,omitempty"`
	// Revoked answers 401 to every /v1/ request, as for a revoked token.
	Revoked bool `json:"revoked,omitempty"`
}

// check refuses faults the contract does not allow.
func (f Faults) check() error {
	var errs []error
	switch {
	case f.Status == 0:
		if f.Count != 0 || f.RetryAfter != "" {
			errs = append(errs, errors.New("count, retry_after: need a status"))
		}
	case f.Status == http.StatusTooManyRequests, f.Status >= 500 && f.Status <= 599:
	default:
		errs = append(errs, fmt.Errorf("status: %d is not 429 or 5xx", f.Status))
	}
	if f.Count < 0 {
		errs = append(errs, fmt.Errorf("count: %d is negative", f.Count))
	}
	if f.RetryAfter != "" {
		if f.Status != http.StatusTooManyRequests && f.Status != http.StatusServiceUnavailable && f.Status != 0 {
			errs = append(errs, fmt.Errorf("retry_after: the contract allows it with 429 and 503 only, not %d", f.Status))
		}
		if !validRetryAfter(f.RetryAfter) {
			errs = append(errs, fmt.Errorf("retry_after: %q is neither seconds nor an HTTP date", f.RetryAfter))
		}
	}
	if f.Delay < 0 {
		errs = append(errs, fmt.Errorf("delay: %s is negative", f.Delay))
	}
	if f.ResetAfterStore < 0 {
		errs = append(errs, fmt.Errorf("reset_after_store: %d is negative", f.ResetAfterStore))
	}
	if f.MaxLines < 0 {
		errs = append(errs, fmt.Errorf("max_lines: %d is negative", f.MaxLines))
	}
	for k := range f.RejectKeys {
		if k == "" {
			errs = append(errs, errors.New("reject_keys: empty key"))
		}
	}
	return errors.Join(errs...)
}

func validRetryAfter(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 0
	}
	_, err := http.ParseTime(s)
	return err == nil
}

func (f Faults) clone() Faults {
	f.RejectKeys = maps.Clone(f.RejectKeys)
	return f
}

// SetFaults replaces the injected faults; the zero Faults clears them. It
// refuses faults that would answer something the contract does not allow.
func (r *Receiver) SetFaults(f Faults) error {
	if err := f.check(); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	f = f.clone()
	for k, v := range f.RejectKeys {
		if strings.TrimSpace(v) == "" {
			f.RejectKeys[k] = "refused by headquarters"
		}
	}
	r.faultMu.Lock()
	r.faults = f
	r.faultMu.Unlock()
	r.log.Info("faults set", "faults", fmt.Sprintf("%+v", f))
	return nil
}

// Faults returns the faults in force, with their remaining counts.
func (r *Receiver) Faults() Faults {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	return r.faults.clone()
}

// takeStatus consumes one request of the status fault, if any.
func (r *Receiver) takeStatus() (status int, retryAfter string) {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	f := &r.faults
	if f.Status == 0 {
		return 0, ""
	}
	status, retryAfter = f.Status, f.RetryAfter
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			f.Status, f.RetryAfter = 0, ""
		}
	}
	return status, retryAfter
}

// takeReset consumes one reset-after-store, if any.
func (r *Receiver) takeReset() bool {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	if r.faults.ResetAfterStore > 0 {
		r.faults.ResetAfterStore--
		return true
	}
	return false
}
