// Package vendtest is a test double of Lightspeed Retail X-Series (formerly
// Vend) API 2.0 for the importer's tests and other packages' end-to-end
// tests: an httptest server with the version change feed (a global, growing,
// non-consecutive version; every edit re-emits the record; deleted records
// with deleted_at), the OAuth authorize and token endpoints (single-use codes
// that expire after 10 minutes, expiring access tokens, rotating refresh
// tokens), the per-window request budget with 429 and an HTTP-date
// Retry-After, and injected faults. Its clock is fake and settable.
//
// It must behave like the real API as described in shared/notes/pos-apis.md,
// never like a mock that returns what the importer expects, and it must never
// reach the network beyond its own loopback listener.
package vendtest
