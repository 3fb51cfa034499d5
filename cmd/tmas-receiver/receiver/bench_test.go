package receiver

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// BenchmarkBatch measures one accepted batch of 1,000 gzipped transaction
// lines through the handler, in memory and with a bbolt file (each commit
// fsyncs).
func BenchmarkBatch(b *testing.B) {
	for _, store := range []string{"memory", "bbolt"} {
		b.Run(store, func(b *testing.B) {
			cfg := Config{Tokens: []string{testToken}}
			if store == "bbolt" {
				cfg.DBPath = filepath.Join(b.TempDir(), "hq.db")
			}
			r, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			h := r.Handler()
			bodies := make([][]byte, 8)
			for i := range bodies {
				var lines []any
				for j := range 1000 {
					lines = append(lines, txn(fmt.Sprintf("shopify:acme:order:%d", j), i+1))
				}
				bodies[i] = gz(b, ndjson(b, lines...))
			}
			for i := 0; b.Loop(); i++ {
				req := httptest.NewRequest(http.MethodPost, "/v1/batches", bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Authorization", "Bearer "+testToken)
				req.Header.Set("Content-Type", "application/x-ndjson")
				req.Header.Set("Content-Encoding", "gzip")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
				req.Header.Set("X-Agent-Id", testAgent)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("got %d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
