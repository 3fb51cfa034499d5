package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is an exponential schedule: Base after the first failure, doubling
// up to Max, each wait spread by ±Jitter (0.2 means 80%–120%) so that many
// agents failing together do not retry together.
type Backoff struct {
	Base   time.Duration
	Max    time.Duration
	Jitter float64
}

// Delay is the wait after the attempt-th consecutive failure (1 for the
// first). Attempts below 1 count as 1.
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Exact(attempt)
	if b.Jitter <= 0 {
		return d
	}
	f := 1 - b.Jitter + 2*b.Jitter*rand.Float64()
	return time.Duration(float64(d) * f)
}

// Exact is Delay without the jitter: the middle of the spread.
func (b Backoff) Exact(attempt int) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	attempt = max(attempt, 1)
	d := b.Base
	for i := 1; i < attempt; i++ {
		if b.Max > 0 && d >= b.Max {
			break
		}
		d *= 2
	}
	if b.Max > 0 {
		d = min(d, b.Max)
	}
	return d
}

// After reads a Retry-After value, as seconds ("120") or as an HTTP date
// ("Wed, 02 Dec 2026 16:30:00 GMT"), relative to now. It is zero when the
// value is absent, unreadable, or already past.
func After(v string, now time.Time) time.Duration {
	d, _ := Parse(v, now)
	return d
}

// Parse is After that also says whether the value was readable at all, for
// callers that treat "retry now" and "no Retry-After" differently. A
// negative number of seconds or a date already past reads as zero.
func Parse(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Sleep waits d or until ctx ends, whichever comes first; it returns the
// context's error when that ended it. A d of zero or less only checks ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
