package forward

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/importers/record"
)

// inProcess serves requests with a handler in the calling goroutine, so a
// synctest bubble's fake clock can advance (a real socket would never count
// as durably blocked).
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// attempt is one request as headquarters saw it, on the bubble's clock.
type attempt struct {
	Key string
	At  time.Time
}

// underLoad runs the forwarder in a bubble for run (fake time) while a
// producer commits one record every 20 ms and wakes the forwarder, as a big
// CSV import or a POS backfill does, and returns the requests headquarters
// received in order.
func underLoad(t *testing.T, h *hq, run time.Duration, tweak ...func(*Config)) []attempt {
	t.Helper()
	var (
		mu    sync.Mutex
		seen  []attempt
		order = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, attempt{r.Header.Get("Idempotency-Key"), time.Now()})
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	)
	sp, _, err := spool.Open(spool.Options{Path: filepath.Join(t.TempDir(), "buffer.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	cfg := Config{URL: "https://hq.example", Token: record.NewSecret("s3cret-token"), AgentID: "store-042",
		MaxLines: 10, MaxAge: 50 * time.Millisecond, MinBackoff: time.Second, MaxBackoff: time.Minute, PausedRetry: 5 * time.Minute}
	for _, fn := range tweak {
		fn(&cfg)
	}
	f, err := New(cfg, sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.client.Transport = inProcess{order}
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		at := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
		for i := 0; ctx.Err() == nil; i++ {
			r := record.Record{Type: record.TypeTransaction, Key: fmt.Sprintf("k%05d", i), Source: "shopify", LocationID: "0421",
				Transaction: &record.Transaction{Kind: record.KindSale, OccurredAt: at, Receipt: "#1", NetSales: record.MustMoney("1"), Currency: "CAD", Items: 1}}
			if _, err := sp.Commit(spool.Change{Records: []record.Record{r}}); err != nil {
				t.Error(err)
				return
			}
			f.Wake()
			time.Sleep(20 * time.Millisecond)
		}
	})
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return append([]attempt(nil), seen...)
}

// TestRetryAfterHoldsUnderConstantInput: records keep arriving (each commit
// wakes the forwarder), yet a 503 with Retry-After: 3 is honoured: the batch
// is not resent before 3 s, and then within the 3 s plus at most half of
// MinBackoff of jitter.
func TestRetryAfterHoldsUnderConstantInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHQ()
		h.script = append(h.script, h.answer(503, map[string]string{"Retry-After": "3"}, "maintenance"))
		seen := underLoad(t, h, 10*time.Second)
		if len(seen) < 2 {
			t.Fatalf("got %d requests, want the 503 and its resend", len(seen))
		}
		if seen[1].Key != seen[0].Key {
			t.Fatalf("got the second request under key %s, want the resend of %s", seen[1].Key, seen[0].Key)
		}
		if gap := seen[1].At.Sub(seen[0].At); gap < 3*time.Second || gap > 3500*time.Millisecond {
			t.Errorf("got the resend %v after the 503 with Retry-After: 3, want between 3s and 3.5s", gap)
		}
	})
}

// TestBackoffGrowsUnderConstantInput: five 500s in a row while records keep
// arriving; each wait is drawn from the upper half of its doubling step
// (1 s, 2 s, 4 s, 8 s, 16 s), so the waits never shrink.
func TestBackoffGrowsUnderConstantInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHQ()
		for range 5 {
			h.script = append(h.script, h.answer(500, nil, "oops"))
		}
		seen := underLoad(t, h, 60*time.Second)
		if len(seen) < 6 {
			t.Fatalf("got %d requests, want 5 failures and the delivery", len(seen))
		}
		var prev time.Duration
		for i := 1; i <= 5; i++ {
			if seen[i].Key != seen[0].Key {
				t.Fatalf("request %d went under key %s, want the resend of %s", i+1, seen[i].Key, seen[0].Key)
			}
			gap := seen[i].At.Sub(seen[i-1].At)
			step := time.Second << (i - 1)
			if gap < step/2 || gap > step {
				t.Errorf("wait after failure %d: got %v, want between %v and %v", i, gap, step/2, step)
			}
			if gap < prev {
				t.Errorf("wait after failure %d: got %v, shorter than the previous %v", i, gap, prev)
			}
			prev = gap
		}
	})
}

// TestPausedPaceHoldsUnderConstantInput: a refused token (401) pauses
// delivery for PausedRetry (5 min here) even while records keep arriving.
func TestPausedPaceHoldsUnderConstantInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHQ()
		h.script = append(h.script, h.answer(401, nil, ""))
		seen := underLoad(t, h, 7*time.Second, func(c *Config) { c.PausedRetry = 5 * time.Second })
		if len(seen) < 2 {
			t.Fatalf("got %d requests, want the 401 and the attempt after the pause", len(seen))
		}
		if gap := seen[1].At.Sub(seen[0].At); gap != 5*time.Second {
			t.Errorf("got the next attempt %v after the 401, want after the 5s pause", gap)
		}
	})
}
