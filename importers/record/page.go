package record

import "time"

// Page is what an importer returns from one fetch: the records it produced,
// the cursor to resume from once they are committed, and whether more pages
// follow right away.
//
// The agent commits Records and Cursor in one transaction, so a crash either
// keeps both or neither: the importer must produce a cursor that, given back,
// fetches what comes after exactly these records (overlaps are harmless, as
// the buffer drops unchanged records; gaps are not).
type Page struct {
	Records []Record
	Cursor  []byte
	More    bool
	// Notes are findings for the operator that are not errors (an order
	// without a location, a shift no outlet could be found for); the agent
	// shows them in the import log.
	Notes []string
	// Counted are notes about a number of things (orders skipped because
	// their location is not mapped…): the agent adds up the counts of equal
	// texts over a whole run and logs one line per text, not one per page.
	Counted []CountedNote
	// Reached is how far in time a window has been read once this page is
	// committed (the last record's modification time, for a feed read in
	// that order); zero when the importer cannot tell. A backfill's progress
	// bar shows it as the part of the window covered.
	Reached time.Time
}

// CountedNote says that Count things had what Text says. Text reads after
// the number: "POS order(s) at Shopify location 123 not imported: …".
type CountedNote struct {
	Count int
	Text  string
}
