// Package retry is the one way the agent waits before trying again: an
// exponential back-off with jitter, the Retry-After header read as seconds or
// as an HTTP date, and a sleep that ends with its context.
//
// It is a leaf, like importers/record: the standard library only, so the
// importers, the FTP endpoint and the agent's forwarder may all use it. It
// never decides whether to retry; its callers do.
package retry
