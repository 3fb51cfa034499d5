// Package receiver is the reference headquarters: an HTTP server that
// implements the TMAS upstream batch API (shared/contracts/upstream-api.md)
// exactly, for `storeagent demo` (in-process) and for end-to-end tests (in
// process or as the tmas-receiver binary).
//
// It authenticates agents by bearer token (shared tokens valid for any agent
// id, or per-agent tokens bound to one id: 403 for another), keeps each
// agent's latest status report and serves the fleet view (/v1/fleet, /fleet,
// /metrics). All it stores goes through a Store: the bbolt file or memory
// here, PostgreSQL in the sub-package pgstore. It validates every NDJSON line against
// the record schema of the contract, refuses a batch whole (422, nothing
// stored) when a line is invalid, answers a replayed Idempotency-Key with the
// original counts, and stores each batch in one transaction keeping, per key,
// the highest rev. It also counts what a test needs to prove delivery: lines
// ignored for a lower or equal rev, and the same key and rev arriving again in
// another batch. Faults (statuses, Retry-After, delays, dropped connections,
// lower limits, refused keys, a revoked token) can be injected at run time.
//
// It must never answer anything the contract does not allow, even under an
// injected fault, never store part of a batch, never answer 200 before the
// batch is durably stored, and never log or echo a token. It must not import
// the agent's own packages: it plays the other side of the wire.
package receiver
