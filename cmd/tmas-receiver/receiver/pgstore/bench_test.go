package pgstore_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore"
	"github.com/tmas/storeagent/cmd/tmas-receiver/receiver/pgstore/pgtest"
)

const benchLines = 1000

func benchLine(batch, j int) (key string, line string) {
	key = fmt.Sprintf("shopify:acme:order:%d-%d", batch, j)
	return key, fmt.Sprintf(`{"type":"transaction","key":%q,"rev":1,"source":"shopify","location_id":"0421","observed_at":"2026-11-20T18:00:00Z","kind":"sale","occurred_at":"2026-11-20T09:15:00-05:00","receipt":"#%d","net_sales":"12.50","tax":"1.63","shipping":"0.00","tips":"0.00","discounts":"0.00","currency":"CAD","items":2,"paid":true}`, key, j)
}

// BenchmarkIngest compares, in one run, the receiver on PostgreSQL (the
// whole HTTP handler: gzip, validation, the batch's transaction) with a bare
// multi-row INSERT … ON CONFLICT of the same lines (1,000 new keys per batch,
// one transaction per batch). The two alternate batch by batch, so that
// other load on the machine weighs on both alike; each is timed alone.
//
//	STOREAGENT_TEST_POSTGRES=postgres://… go test -run '^$' -bench Ingest -benchtime 200x ./cmd/tmas-receiver/receiver/pgstore
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	st, err := pgstore.Open(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	r, err := receiver.New(receiver.Config{Store: st, Tokens: []string{"t"}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	h := r.Handler()
	pool, err := pgxpool.New(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE bare (key_hash bytea PRIMARY KEY, key text NOT NULL, rev bigint NOT NULL, line text NOT NULL, agent text NOT NULL, batch text NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	var inReceiver, inBare time.Duration
	for i := 0; b.Loop(); i++ {
		var body bytes.Buffer
		zw := gzip.NewWriter(&body)
		hashes, keys, lines := make([][]byte, benchLines), make([]string, benchLines), make([]string, benchLines)
		revs, agents, batches := make([]int64, benchLines), make([]string, benchLines), make([]string, benchLines)
		for j := range benchLines {
			k, l := benchLine(i, j)
			zw.Write([]byte(l + "\n"))
			h := sha256.Sum256([]byte(k))
			hashes[j], keys[j], lines[j], revs[j], agents[j], batches[j] = h[:], k, l, 1, "store-042", fmt.Sprintf("bench-%d", i)
		}
		zw.Close()
		req := httptest.NewRequest(http.MethodPost, "/v1/batches", &body)
		req.Header.Set("Authorization", "Bearer t")
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
		req.Header.Set("X-Agent-Id", "store-042")
		w := httptest.NewRecorder()

		start := time.Now()
		h.ServeHTTP(w, req)
		inReceiver += time.Since(start)
		if w.Code != http.StatusOK {
			b.Fatalf("got %d %s", w.Code, w.Body)
		}
		start = time.Now()
		if _, err := pool.Exec(ctx, `INSERT INTO bare SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
			ON CONFLICT (key_hash) DO UPDATE SET rev = excluded.rev, line = excluded.line, agent = excluded.agent, batch = excluded.batch
			WHERE bare.rev < excluded.rev`, hashes, keys, revs, lines, agents, batches); err != nil {
			b.Fatal(err)
		}
		inBare += time.Since(start)
	}
	recv := float64(benchLines*b.N) / inReceiver.Seconds()
	bare := float64(benchLines*b.N) / inBare.Seconds()
	b.ReportMetric(recv, "receiver-records/s")
	b.ReportMetric(bare, "bare-records/s")
	b.ReportMetric(100*recv/bare, "%-of-bare")
}
