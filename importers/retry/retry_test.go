package retry

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoffExact(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 30 * time.Second}
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {5, 16 * time.Second}, {6, 30 * time.Second}, {1000, 30 * time.Second}} {
		if got := b.Exact(tc.attempt); got != tc.want {
			t.Errorf("Exact(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestBackoffJitterStaysInSpread(t *testing.T) {
	b := Backoff{Base: 10 * time.Second, Max: time.Hour, Jitter: 0.2}
	for i := 0; i < 1000; i++ {
		d := b.Delay(3)
		if d < 32*time.Second || d > 48*time.Second {
			t.Fatalf("Delay(3) = %v, want within 32s–48s", d)
		}
	}
}

func TestAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 16, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"  ", 0}, {"3", 3 * time.Second}, {" 120 ", 2 * time.Minute}, {"-5", 0}, {"soon", 0},
		{"Wed, 02 Dec 2026 16:30:42 GMT", 42 * time.Second},
		{"Wed, 02 Dec 2026 16:29:00 GMT", 0},
	} {
		if got := After(tc.in, now); got != tc.want {
			t.Errorf("After(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseSaysWhetherReadable(t *testing.T) {
	now := time.Date(2026, 12, 2, 16, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"soon", 0, false}, {"0", 0, true}, {"-5", 0, true}, {"7", 7 * time.Second, true},
		{"Wed, 02 Dec 2026 16:29:00 GMT", 0, true},
		{"Wed, 02 Dec 2026 16:30:42 GMT", 42 * time.Second, true},
	} {
		if got, ok := Parse(tc.in, now); got != tc.want || ok != tc.ok {
			t.Errorf("Parse(%q) = %v, %v, want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := Sleep(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("slept %v, want 5s", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := Sleep(ctx, time.Hour); err != context.DeadlineExceeded {
			t.Errorf("Sleep with an ending context = %v, want DeadlineExceeded", err)
		}
		if got := time.Since(start); got != 6*time.Second {
			t.Errorf("ended after %v, want 6s", got)
		}
	})
}
