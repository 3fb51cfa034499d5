// Package statusreport tells headquarters that the agent is alive and how it
// is, per the upstream contract's "Agent status": PUT
// {upstream.url}/v1/agents/{id}/status, at start, every interval (jittered)
// and at once when the health verdict changes.
//
// It owns the report's wire format and its sending, nothing else: the agent
// builds each report from the same status snapshot that `status` and
// /healthz serve. A report is never queued in the buffer and never waits on
// or delays a batch: it has its own goroutine and request, and only the
// latest snapshot is ever sent. A headquarters that answers 404 or 405 does
// not take reports yet: the reporter stops until the next start.
package statusreport
