// Package pgstore is the PostgreSQL Store of the reference receiver
// (receiver.Store): with it a receiver is stateless, and any number of
// tmas-receiver instances share one database.
//
// It creates and migrates its own schema (versioned migrations, applied
// under an advisory lock, so instances starting together migrate once), and
// applies each batch in one transaction that first inserts the batch's
// (agent, Idempotency-Key) row: the key's uniqueness makes a concurrent
// resend of the same batch to another instance wait for the first and then
// answer it as a replay, and row locks on the batch's record keys make
// "highest rev per key wins" hold across instances. It keeps nothing in
// memory that two instances could disagree on.
package pgstore
