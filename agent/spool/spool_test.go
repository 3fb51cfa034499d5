package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

var t0 = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func open(t *testing.T, path string, max int64) *Spool {
	t.Helper()
	s, rec, err := Open(Options{Path: path, MaxSize: max, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		t.Fatalf("got an unexpected recovery: %+v", rec)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var toronto = mustZone("America/Toronto")

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

func sale(key string, at time.Time, net string, items int64) record.Record {
	return record.Record{
		Type: record.TypeTransaction, Key: key, Source: record.SourceShopify, LocationID: "0421",
		Transaction: &record.Transaction{Kind: record.KindSale, OccurredAt: at.In(toronto), Receipt: "#" + key,
			NetSales: record.MustMoney(net), Currency: "CAD", Items: items, Paid: true},
	}
}

type line struct {
	Key string `json:"key"`
	Rev int64  `json:"rev"`
	Net string `json:"net_sales"`
}

func decode(t *testing.T, lines [][]byte) []line {
	t.Helper()
	var out []line
	for _, l := range lines {
		var v line
		if err := json.Unmarshal(l, &v); err != nil {
			t.Fatalf("bad line %s: %v", l, err)
		}
		out = append(out, v)
	}
	return out
}

func TestCommitRevisions(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "buffer.db"), 0)
	at := time.Date(2026, 11, 20, 14, 10, 0, 0, time.UTC)
	res, err := s.Commit(Change{Records: []record.Record{sale("a", at, "10.00", 1), sale("b", at, "5", 2)}, State: map[StateKey][]byte{"cursor": []byte("1")}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Queued: 2}, res); diff != "" {
		t.Errorf("first commit (-want +got):\n%s", diff)
	}
	// The same content again is dropped; a change is a new revision; a hint wins when higher.
	changed := sale("b", at, "6", 2)
	hinted := sale("c", at, "1", 1)
	hinted.RevHint = 1700000000000
	res, err = s.Commit(Change{Records: []record.Record{sale("a", at, "10.00", 1), changed, hinted}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Result{Queued: 2, Unchanged: 1}, res); diff != "" {
		t.Errorf("second commit (-want +got):\n%s", diff)
	}
	b, err := s.NextBatch(Limits{MaxLines: 100, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := []line{{"a", 1, "10.00"}, {"b", 1, "5.00"}, {"b", 2, "6.00"}, {"c", 1700000000000, "1.00"}}
	if diff := cmp.Diff(want, decode(t, b.Lines)); diff != "" {
		t.Errorf("batch lines (-want +got):\n%s", diff)
	}
	if got := string(b.Lines[0]); !strings.Contains(got, `"observed_at":"2026-11-20T15:00:00Z"`) || !strings.Contains(got, `"occurred_at":"2026-11-20T09:10:00-05:00"`) {
		t.Errorf("got line %s, want observed_at set by the spool and occurred_at in the store's offset", got)
	}
	if v, _ := s.State("cursor"); string(v) != "1" {
		t.Errorf("got cursor %q, want 1", v)
	}
	hours, err := s.Hourly("0421", "2026-11-20")
	if err != nil {
		t.Fatal(err)
	}
	wantHours := []HourTotal{{Location: "0421", Hour: "2026-11-20T09:00-05:00", NetSales: record.MustMoney("17.00"), Transactions: 3, Items: 4}}
	if diff := cmp.Diff(wantHours, hours, cmp.Comparer(record.Money.Equal)); diff != "" {
		t.Errorf("hourly (-want +got):\n%s", diff)
	}
}

func TestInvalidRecordRefused(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "buffer.db"), 0)
	bad := sale("x", t0, "1", 1)
	bad.Currency = ""
	_, err := s.Commit(Change{Records: []record.Record{bad}, State: map[StateKey][]byte{"cursor": []byte("9")}})
	want := `spool: refusing an invalid record: record x: currency "" is not an ISO 4217 code`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if v, _ := s.State("cursor"); v != nil {
		t.Errorf("got cursor %q stored with a refused change, want none", v)
	}
}

func TestHourlyFollowsRevisionsAndVoids(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "buffer.db"), 0)
	nine := time.Date(2026, 11, 20, 14, 5, 0, 0, time.UTC)
	ten := time.Date(2026, 11, 20, 15, 5, 0, 0, time.UTC)
	commit := func(rs ...record.Record) {
		t.Helper()
		if _, err := s.Commit(Change{Records: rs}); err != nil {
			t.Fatal(err)
		}
	}
	commit(sale("a", nine, "10.00", 1), sale("b", nine, "20.00", 2))
	commit(sale("a", ten, "12.50", 1)) // edited and moved to the next hour
	void := sale("b", nine, "0", 0)
	void.Kind = record.KindVoid
	commit(void)
	ret := sale("r", ten, "-2.25", -1)
	ret.Kind = record.KindReturn
	commit(ret)
	got, err := s.Hourly("0421", "2026-11-20")
	if err != nil {
		t.Fatal(err)
	}
	want := []HourTotal{
		{Location: "0421", Hour: "2026-11-20T09:00-05:00", NetSales: record.MustMoney("0"), Transactions: 0, Items: 0},
		{Location: "0421", Hour: "2026-11-20T10:00-05:00", NetSales: record.MustMoney("10.25"), Transactions: 2, Items: 0},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(record.Money.Equal)); diff != "" {
		t.Errorf("hourly (-want +got):\n%s", diff)
	}
}

func TestBatchSurvivesReopenWithSameID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 0)
	var rs []record.Record
	for i := range 25 {
		rs = append(rs, sale(fmt.Sprint("k", i), t0, "1", 1))
	}
	if _, err := s.Commit(Change{Records: rs}); err != nil {
		t.Fatal(err)
	}
	b1, err := s.NextBatch(Limits{MaxLines: 10, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path, 0)
	b2, err := s.NextBatch(Limits{MaxLines: 20, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if b1.ID != b2.ID || len(b2.Lines) != 10 || b1.First != b2.First || b1.Last != b2.Last {
		t.Fatalf("got batch %s %d..%d (%d lines) after reopen, want %s %d..%d (10 lines)", b2.ID, b2.First, b2.Last, len(b2.Lines), b1.ID, b1.First, b1.Last)
	}
	if err := s.Ack(b2.ID); err != nil {
		t.Fatal(err)
	}
	b3, err := s.NextBatch(Limits{MaxLines: 20, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if b3.ID == b1.ID || len(b3.Lines) != 15 {
		t.Errorf("got batch %s with %d lines, want a new id with the 15 remaining lines", b3.ID, len(b3.Lines))
	}
	if err := s.Ack(b3.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextBatch(Limits{MaxLines: 20, MaxBytes: 1 << 20}); !errors.Is(err, ErrNoBatch) {
		t.Errorf("got %v, want ErrNoBatch", err)
	}
	if st := s.Stats(); st.Queued != 0 || st.QueuedBytes != 0 {
		t.Errorf("got stats %+v, want an empty queue", st)
	}
}

func TestBatchLimitsByBytes(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "buffer.db"), 0)
	if _, err := s.Commit(Change{Records: []record.Record{sale("a", t0, "1", 1), sale("b", t0, "1", 1), sale("c", t0, "1", 1)}}); err != nil {
		t.Fatal(err)
	}
	b, err := s.NextBatch(Limits{MaxLines: 100, MaxBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Lines) != 1 {
		t.Errorf("got %d lines, want 1: a single line larger than the limit still goes alone", len(b.Lines))
	}
}

func TestSplitAndReject(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "buffer.db"), 0)
	var rs []record.Record
	for i := range 6 {
		rs = append(rs, sale(fmt.Sprint("k", i), t0, "1", 1))
	}
	if _, err := s.Commit(Change{Records: rs}); err != nil {
		t.Fatal(err)
	}
	lim := Limits{MaxLines: 100, MaxBytes: 1 << 20}
	b, _ := s.NextBatch(lim)
	if err := s.Split(b.ID); err != nil {
		t.Fatal(err)
	}
	h1, _ := s.NextBatch(lim)
	if got := keysOf(t, h1); !cmp.Equal(got, []string{"k0", "k1", "k2"}) || h1.ID == b.ID {
		t.Fatalf("got first half %s %v, want a new id with k0..k2", h1.ID, got)
	}
	// 422 on lines 2 of the first half: k1 goes to dead letters, the rest is re-batched.
	if err := s.Reject(h1.ID, map[int]string{2: "location_id: unknown location"}); err != nil {
		t.Fatal(err)
	}
	n1, _ := s.NextBatch(lim)
	if got := keysOf(t, n1); !cmp.Equal(got, []string{"k3", "k4", "k5"}) {
		t.Fatalf("got %v, want the second half next", got)
	}
	if err := s.Ack(n1.ID); err != nil {
		t.Fatal(err)
	}
	n2, _ := s.NextBatch(lim)
	if got := keysOf(t, n2); !cmp.Equal(got, []string{"k0", "k2"}) || n2.ID == h1.ID {
		t.Fatalf("got %s %v, want the rest of the rejected batch under a new id", n2.ID, got)
	}
	if err := s.Ack(n2.ID); err != nil {
		t.Fatal(err)
	}
	dead, err := s.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Reason != "location_id: unknown location" || !strings.Contains(dead[0].Line, `"key":"k1"`) || dead[0].Batch != h1.ID {
		t.Fatalf("got dead letters %+v", dead)
	}
	if n, err := s.RetryDead(nil); err != nil || n != 1 {
		t.Fatalf("got %d, %v from RetryDead, want 1", n, err)
	}
	b, _ = s.NextBatch(lim)
	if got := keysOf(t, b); !cmp.Equal(got, []string{"k1"}) {
		t.Errorf("got %v after retry, want k1", got)
	}
	if st := s.Stats(); st.Dead != 0 || st.Queued != 1 {
		t.Errorf("got %+v, want 1 queued, 0 dead", st)
	}
	// A single line answered 413 cannot be split: it is dead-lettered.
	if err := s.Split(b.ID); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Dead != 1 || st.Queued != 0 {
		t.Errorf("got %+v, want the lone line dead-lettered", st)
	}
}

func keysOf(t *testing.T, b *Batch) []string {
	var out []string
	for _, l := range decode(t, b.Lines) {
		out = append(out, l.Key)
	}
	return out
}

func TestFullRefusesNewInputKeepsOld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 1<<20)
	accepted := 0
	var full error
	for i := 0; i < 10000 && full == nil; i++ {
		var rs []record.Record
		for j := range 50 {
			rs = append(rs, sale(fmt.Sprintf("k%d-%d", i, j), t0, "1", 1))
		}
		if _, err := s.Commit(Change{Records: rs}); err != nil {
			full = err
			break
		}
		accepted += len(rs)
	}
	if !errors.Is(full, record.ErrFull) {
		t.Fatalf("got %v, want ErrFull", full)
	}
	if !s.Full() || !s.Stats().Full {
		t.Errorf("got Full() false after ErrFull")
	}
	// State alone (a token rotation) still commits when full.
	if err := s.SetState(map[string][]byte{"vend.token": []byte("t")}); err != nil {
		t.Errorf("got %v for a state-only change when full", err)
	}
	if got := s.Stats().Queued; got != accepted {
		t.Errorf("got %d queued, want every accepted record (%d)", got, accepted)
	}
	// Draining makes room again.
	lim := Limits{MaxLines: 10000, MaxBytes: 8 << 20}
	for {
		b, err := s.NextBatch(lim)
		if errors.Is(err, ErrNoBatch) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ack(b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Commit(Change{Records: []record.Record{sale("after", t0, "1", 1)}}); err != nil {
		t.Errorf("got %v after draining, want room again", err)
	}
}

func TestDamagedFileIsSetAside(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()/3); err != nil {
				t.Fatal(err)
			}
		}},
		{"bit flips in every page header", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			for off := 4096 * 2; off < len(b); off += 4096 {
				b[off+8] ^= 0xff // page flags
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("this is not a bbolt file"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "buffer.db")
			s, _, err := Open(Options{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			var rs []record.Record
			for i := range 2000 {
				rs = append(rs, sale(fmt.Sprint("k", i), t0, "1", 1))
			}
			if _, err := s.Commit(Change{Records: rs}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			tc.damage(t, path)

			s, rec, err := Open(Options{Path: path, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatalf("got %v, want a fresh buffer", err)
			}
			defer s.Close()
			if rec == nil {
				t.Fatal("got no recovery report for a damaged file")
			}
			if want := path + ".damaged-20261120T150000Z"; rec.SetAside != want {
				t.Errorf("got set aside as %s, want %s", rec.SetAside, want)
			}
			if _, err := os.Stat(rec.SetAside); err != nil {
				t.Errorf("the damaged file is not kept: %v", err)
			}
			// The fresh buffer works.
			if _, err := s.Commit(Change{Records: []record.Record{sale("new", t0, "1", 1)}}); err != nil {
				t.Fatalf("got %v committing to the fresh buffer", err)
			}
			if got := s.Stats().Queued; got != rec.Salvaged+1 {
				t.Errorf("got %d queued, want %d salvaged + 1 new", got, rec.Salvaged)
			}
		})
	}
}

func TestSecondProcessIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	open(t, path, 0)
	_, _, err := Open(Options{Path: path, LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("got %v, want ErrLocked", err)
	}
}

func TestCompactAfterDrain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 0)
	for i := range 20 {
		var rs []record.Record
		for j := range 500 {
			rs = append(rs, sale(fmt.Sprintf("k%d-%d", i, j), t0, "1", 1))
		}
		if _, err := s.Commit(Change{Records: rs}); err != nil {
			t.Fatal(err)
		}
	}
	if done, _ := s.Compact(0); done {
		t.Fatal("compacted with a full queue")
	}
	for {
		b, err := s.NextBatch(Limits{MaxLines: 10000, MaxBytes: 8 << 20})
		if errors.Is(err, ErrNoBatch) {
			break
		}
		if err := s.Ack(b.ID); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Stats().FileBytes
	done, err := s.Compact(0)
	if err != nil || !done {
		t.Fatalf("got %v %v, want a compaction", done, err)
	}
	after := s.Stats().FileBytes
	if after >= before {
		t.Errorf("got %d bytes after compaction, want fewer than %d", after, before)
	}
	// Keys survive compaction: the same content is still recognised.
	res, err := s.Commit(Change{Records: []record.Record{sale("k0-0", t0, "1", 1)}})
	if err != nil || res.Unchanged != 1 {
		t.Errorf("got %+v %v, want the record known after compaction", res, err)
	}
}

// TestModel drives the spool with random operations, reopening it now and
// then, and checks it against a simple in-memory model: every committed,
// changed record is delivered exactly once, in order, under stable batch IDs.
func TestModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	content := map[string]string{} // key -> latest net
	var expect []line              // what must be delivered, in order
	var delivered []line
	revs := map[string]int64{}
	sent := map[string]int{} // batch id -> number of lines when first seen
	lim := Limits{MaxLines: 7, MaxBytes: 1 << 20}
	for step := range 600 {
		switch op := rng.IntN(10); {
		case op < 5:
			var rs []record.Record
			for range rng.IntN(5) + 1 {
				k := fmt.Sprint("k", rng.IntN(40))
				net := fmt.Sprint(rng.IntN(3), ".00")
				rs = append(rs, sale(k, t0, net, 1))
				if content[k] != net || revs[k] == 0 {
					content[k] = net
					revs[k]++
					expect = append(expect, line{k, revs[k], net})
				}
			}
			if _, err := s.Commit(Change{Records: rs}); err != nil {
				t.Fatal(err)
			}
		case op < 9:
			b, err := s.NextBatch(lim)
			if errors.Is(err, ErrNoBatch) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if n, ok := sent[b.ID]; ok && n != len(b.Lines) {
				t.Fatalf("step %d: batch %s changed from %d to %d lines", step, b.ID, n, len(b.Lines))
			}
			sent[b.ID] = len(b.Lines)
			if rng.IntN(3) == 0 {
				continue // "lost" answer: resend later
			}
			delivered = append(delivered, decode(t, b.Lines)...)
			if err := s.Ack(b.ID); err != nil {
				t.Fatal(err)
			}
		default:
			s.Close()
			s = open(t, path, 0)
		}
	}
	for {
		b, err := s.NextBatch(lim)
		if errors.Is(err, ErrNoBatch) {
			break
		}
		delivered = append(delivered, decode(t, b.Lines)...)
		if err := s.Ack(b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(expect, delivered); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

func TestLineMatchesJSONMarshal(t *testing.T) {
	out := time.Date(2026, 11, 20, 17, 4, 0, 0, toronto)
	recs := []record.Record{
		sale("shopify:acme:order:1", t0, "12.5", 3),
		{Type: record.TypeShift, Key: `csv:0421:E"017<&>:2026`, Source: "csv", LocationID: "0421", Rev: 3, ObservedAt: t0.Add(123456789),
			Shift: &record.Shift{EmployeeID: "E017", EmployeeName: "Hélène Dubé", ClockIn: t0.In(toronto), ClockOut: &out, Hours: record.MustMoney("7.6")}},
	}
	recs[0].Rev, recs[0].ObservedAt = 12, t0
	recs[0].Lines = []record.Line{{SKU: "A-1", Qty: 2, Net: record.MustMoney("3")}}
	for _, r := range recs {
		enc, err := encodeBody(&r)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(&r)
		if got := appendLine(nil, &r, enc.body); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestFullStaysFullUntilDrained(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "buffer.db"), 1<<20)
	big := func(prefix string, n int) []record.Record {
		var rs []record.Record
		for j := range n {
			rs = append(rs, sale(fmt.Sprintf("%s-%d", prefix, j), t0, "1", 1))
		}
		return rs
	}
	var err error
	for i := 0; err == nil; i++ {
		_, err = s.Commit(Change{Records: big(fmt.Sprint("b", i), 400)})
	}
	if !errors.Is(err, record.ErrFull) {
		t.Fatalf("got %v, want ErrFull", err)
	}
	// A single small record is refused too: the buffer is full, not "full for large input".
	if _, err := s.Commit(Change{Records: big("small", 1)}); !errors.Is(err, record.ErrFull) {
		t.Errorf("got %v for a small record right after ErrFull, want ErrFull", err)
	}
	if !s.Full() {
		t.Error("got Full() false while refusing input")
	}
	// Deliver one batch: not enough to leave the full state.
	b, _ := s.NextBatch(Limits{MaxLines: 100, MaxBytes: 8 << 20})
	s.Ack(b.ID)
	if _, err := s.Commit(Change{Records: big("small2", 1)}); !errors.Is(err, record.ErrFull) {
		t.Errorf("got %v after draining a little, want still full", err)
	}
	for {
		b, err := s.NextBatch(Limits{MaxLines: 10000, MaxBytes: 8 << 20})
		if errors.Is(err, ErrNoBatch) {
			break
		}
		s.Ack(b.ID)
	}
	if s.Full() {
		t.Error("got Full() true after draining everything")
	}
	if _, err := s.Commit(Change{Records: big("after", 10)}); err != nil {
		t.Errorf("got %v after draining, want room", err)
	}
}

func TestPruneKeys(t *testing.T) {
	now := t0
	s, _, err := Open(Options{Path: filepath.Join(t.TempDir(), "buffer.db"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Commit(Change{Records: []record.Record{sale("old", t0, "1", 1)}})
	now = t0.Add(48 * time.Hour)
	s.Commit(Change{Records: []record.Record{sale("new", t0, "1", 1)}})
	n, err := s.PruneKeys(t0.Add(24*time.Hour), 1)
	if err != nil || n != 1 {
		t.Fatalf("got %d, %v; want 1 key pruned", n, err)
	}
	// The pruned key is new again; the kept one is still recognised.
	res, _ := s.Commit(Change{Records: []record.Record{sale("old", t0, "1", 1), sale("new", t0, "1", 1)}})
	if res.Queued != 1 || res.Unchanged != 1 {
		t.Errorf("got %+v, want the pruned key queued again and the kept one unchanged", res)
	}
}

// drainedForCompaction fills a spool and delivers everything, so that
// Compact has work to do.
func drainedForCompaction(t *testing.T, s *Spool) {
	t.Helper()
	for i := range 10 {
		var rs []record.Record
		for j := range 500 {
			rs = append(rs, sale(fmt.Sprintf("k%d-%d", i, j), t0, "1", 1))
		}
		if _, err := s.Commit(Change{Records: rs}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		b, err := s.NextBatch(Limits{MaxLines: 10000, MaxBytes: 8 << 20})
		if errors.Is(err, ErrNoBatch) {
			return
		}
		if err := s.Ack(b.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCompactWhoseRenameFails keeps the original file open and working and
// says it did not compact.
func TestCompactWhoseRenameFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 0)
	drainedForCompaction(t, s)
	s.rename = func(string, string) error { return errors.New("sharing violation") }
	done, err := s.Compact(0)
	if done || err == nil || err.Error() != "spool: compact: put the compacted file in place: sharing violation" {
		t.Fatalf("got %v, %v; want no compaction and the rename's error", done, err)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("the temporary compacted file was left behind: %v", err)
	}
	res, err := s.Commit(Change{Records: []record.Record{sale("k0-0", t0, "1", 1)}})
	if err != nil || res.Unchanged != 1 {
		t.Errorf("after the failed compaction got %+v, %v; want the original file in use", res, err)
	}
}

// TestCompactWhoseReopenFails returns ErrReopen and leaves a spool that
// refuses every operation, never one that seems to work.
func TestCompactWhoseReopenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 0)
	drainedForCompaction(t, s)
	s.reopen = func(string) (*bolt.DB, error) { return nil, errors.New("timeout") }
	if done, err := s.Compact(0); done || !errors.Is(err, ErrReopen) {
		t.Fatalf("got %v, %v; want ErrReopen", done, err)
	}
	if _, err := s.Commit(Change{Records: []record.Record{sale("new", t0, "1", 1)}}); err == nil || err.Error() != "spool: closed" {
		t.Errorf("a commit after a failed reopen got %v, want spool: closed", err)
	}
}

// TestFailedCommitChangesNoFigure: counts made inside a transaction whose
// commit fails (here: the file would pass its size limit) are not applied.
func TestFailedCommitChangesNoFigure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 1<<20)
	before := s.Stats()
	err := s.updateCounting(func(tx *bolt.Tx, n *counts) error {
		n.add(3, 300, 1)
		return tx.Bucket(bucketState).Put([]byte("big"), make([]byte, 4<<20))
	})
	if err == nil {
		t.Fatal("a commit past the size limit succeeded")
	}
	after := s.Stats()
	if after.Queued != before.Queued || after.QueuedBytes != before.QueuedBytes || after.Dead != before.Dead {
		t.Errorf("figures changed by a failed commit: before %+v, after %+v", before, after)
	}
}

// TestOldBatchDefinitionsAreRekeyed: a file written by an earlier version
// (definitions keyed by a sequence of their own, no ID index) keeps its
// pending batch, found by its ID after the upgrade.
func TestOldBatchDefinitionsAreRekeyed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "buffer.db")
	s := open(t, path, 0)
	if _, err := s.Commit(Change{Records: []record.Record{sale("a", t0, "1", 1), sale("b", t0, "2", 1)}}); err != nil {
		t.Fatal(err)
	}
	b, err := s.NextBatch(Limits{MaxLines: 10, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Rewrite the file as the earlier version left it.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		defs := tx.Bucket(bucketBatches)
		k, v := defs.Cursor().First()
		v = bytes.Clone(v)
		if err := defs.Delete(k); err != nil {
			return err
		}
		if err := defs.Put(u64(1), v); err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketBatchIDs); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(metaDefsKeyed)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, path, 0)
	again, err := s.NextBatch(Limits{MaxLines: 10, MaxBytes: 1 << 20})
	if err != nil || again.ID != b.ID || len(again.Lines) != 2 {
		t.Fatalf("after the upgrade got %+v, %v; want batch %s again with its 2 lines", again, err, b.ID)
	}
	if err := s.Ack(b.ID); err != nil {
		t.Fatalf("Ack after the upgrade: %v", err)
	}
	if st := s.Stats(); st.Queued != 0 {
		t.Errorf("got %d queued after the ack, want 0", st.Queued)
	}
}
