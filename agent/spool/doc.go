// Package spool is the agent's durable buffer: one bbolt file that holds the
// queue of records waiting for headquarters, the per-source state (cursors,
// processed files, tokens) committed in the same transaction as the records it
// produced, the batches being delivered, the dead-letter store, and the hourly
// totals that `storeagent report` prints.
//
// It hides bbolt behind domain verbs: Commit (records with state), NextBatch,
// Ack, Split, Reject. Every verb returns only once its transaction is fsynced,
// so anything the agent acknowledges to the outside is already on disk. It must
// never drop an accepted record to make room: when full it refuses new input
// with record.ErrFull. It knows nothing of HTTP, FTP or any POS.
//
// State values are named by a StateKey; the spool only stores them. The agent
// owns its keys and builds them with its constructors (cursor, backfill
// window, file progress, recent files, a source's token). State and SetState,
// with plain string names, make the spool the record.StateStore a source keeps
// its own values in.
package spool
