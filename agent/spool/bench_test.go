package spool

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tmas/storeagent/importers/record"
)

// benchBatch is how many records share one commit: what an importer page or
// a chunk of a CSV file commits at once.
const benchBatch = 1000

func benchRecords(n, round int) []record.Record {
	rs := make([]record.Record, n)
	for i := range rs {
		rs[i] = sale(fmt.Sprintf("shopify:acme:order:%d-%d", round, i), t0.Add(time.Duration(i)*time.Second), "12.34", 2)
	}
	return rs
}

// BenchmarkCommit measures durable appends through the spool: validation,
// revision bookkeeping, hourly totals and an fsynced commit per 1000 records.
func BenchmarkCommit(b *testing.B) {
	s, _, err := Open(Options{Path: filepath.Join(b.TempDir(), "buffer.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rounds := make([][]record.Record, 0, 64)
	for r := range 64 {
		rounds = append(rounds, benchRecords(benchBatch, r))
	}
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		rs := rounds[i%len(rounds)]
		if i >= len(rounds) { // fresh keys every round so nothing is "unchanged"
			b.StopTimer()
			rs = benchRecords(benchBatch, i)
			b.StartTimer()
		}
		if _, err := s.Commit(Change{Records: rs, State: map[StateKey][]byte{"cursor": []byte(fmt.Sprint(i))}}); err != nil {
			b.Fatal(err)
		}
		n += len(rs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRawBolt is the floor to compare with: the same lines, already
// encoded, put with sequence keys in one fsynced bbolt transaction per 1000.
func BenchmarkRawBolt(b *testing.B) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	lines := make([][]byte, benchBatch)
	for i, r := range benchRecords(benchBatch, 0) {
		r.Rev, r.ObservedAt = 1, t0
		lines[i], _ = json.Marshal(&r)
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		err := db.Update(func(tx *bolt.Tx) error {
			q, err := tx.CreateBucketIfNotExists(bucketQueue)
			if err != nil {
				return err
			}
			for _, l := range lines {
				seq, _ := q.NextSequence()
				if err := q.Put(u64(seq), l); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		n += len(lines)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
