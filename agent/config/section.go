package config

import (
	"github.com/tmas/storeagent/importers/record"
)

// Section is a top-level section of the file that another package owns (a
// POS source such as `shopify:` or `vend:`). This package knows it by name
// only: it decodes the section strictly into the value Kind.New returns, then
// calls SetDefaults and FieldErrors. A Section must be a pointer to a struct
// with yaml tags; FieldErrors makes no network call and reads no secret.
type Section interface {
	SetDefaults()
	// FieldErrors lists every problem, each at its key path inside the
	// section ("shop", "tls.mode", "users[1].name").
	FieldErrors() []record.FieldError
}

// LocationMapper is a section of a source whose ids appear in `locations:`:
// under each location the source's name is a key holding the POS's own id for
// it ("0421": {shopify: "gid://shopify/Location/1"}).
type LocationMapper interface {
	Section
	// CheckLocationID says what is wrong with an id given for a location
	// (nil when it is well-formed). No network call.
	CheckLocationID(id string) error
}

// LocationOwner is a section of a source whose mapping lives in its own keys
// rather than under each location (woocommerce: {location: "0421",
// location_by_meta: {queen-st: "0422"}}). Its TMAS ids must be among
// `locations:`; Bindings hands them to the source like a LocationMapper's.
type LocationOwner interface {
	Section
	// OwnLocations are its mappings by key path inside the section
	// ("location", "location_by_meta[queen-st]"): each Binding's LocationID
	// is the TMAS id named there and SourceID the id the source's own
	// Locations lists that mapping by (Zone and Active are filled from
	// `locations:`).
	OwnLocations() map[string]record.Binding
}

// Kind is a section the file may hold: its top-level key and a constructor
// of its empty value. The program lists its kinds explicitly and passes them
// to Load or Parse; a key that is neither a built-in section nor a kind is
// refused as unknown.
type Kind struct {
	Name string
	New  func() Section
}
