// Package record is the leaf contract between the store agent and its inputs:
// the records the agent forwards to headquarters (transactions and shifts, as
// the upstream API defines them), exact money, and the page an importer hands
// back with its cursor.
//
// It must never import the agent, bbolt, or any importer: importers and the
// FTP endpoint depend on it, and it depends only on the standard library and
// the decimal type.
package record
