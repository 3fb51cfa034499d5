package statuspage

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPage renders the troubled page (every section filled) through
// the handler, as one refresh of the page costs the agent.
func BenchmarkPage(b *testing.B) { benchGet(b, "/") }

// BenchmarkMetrics is one Prometheus scrape, Go and process collectors
// included.
func BenchmarkMetrics(b *testing.B) { benchGet(b, "/metrics") }

// benchGet serves GET path of the troubled agent's handler b.N times.
func benchGet(b *testing.B, path string) {
	mux := http.NewServeMux()
	Register(mux, fakeSource{troubled()}, nil)
	req := httptest.NewRequest("GET", path, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("got status %d", w.Code)
		}
	}
}
