package statuspage

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPage renders the troubled page (every section filled) through
// the handler, as one refresh of the page costs the agent.
func BenchmarkPage(b *testing.B) {
	mux := http.NewServeMux()
	Register(mux, fakeSource{troubled()}, nil)
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("got status %d", w.Code)
		}
	}
}

// BenchmarkMetrics is one Prometheus scrape, Go and process collectors
// included.
func BenchmarkMetrics(b *testing.B) {
	mux := http.NewServeMux()
	Register(mux, fakeSource{troubled()}, nil)
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("got status %d", w.Code)
		}
	}
}
