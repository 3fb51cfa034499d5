package staffcsv

import (
	"errors"
	"fmt"
	"time"
)

// Date orders for dates written with slashes.
const (
	DMY = "dmy" // DD/MM/YYYY, the default
	MDY = "mdy" // MM/DD/YYYY
)

// DefaultMaxReportedLines is how many bad lines a refusal lists when
// Options.MaxReportedLines is zero.
const DefaultMaxReportedLines = 1000

// Options says how to read one file.
type Options struct {
	// Locations maps the TMAS location ids the agent serves to their time
	// zone. A nil zone means Zone.
	Locations map[string]*time.Location
	// Zone is the zone of locations mapped to nil (the agent's zone); UTC
	// when nil.
	Zone *time.Location
	// BoundLocation is set when the FTP user is bound to one location: rows
	// may then omit location_id, and a row that gives one must give this one.
	BoundLocation string
	// DateOrder is DMY (the default when empty) or MDY; it applies to dates
	// written with slashes only, YYYY-MM-DD is always accepted.
	DateOrder string
	// MaxSize is the largest accepted file in bytes; 0 means no limit.
	MaxSize int64
	// Now is the reference for the "more than 1 day in the future" rule; the
	// current time when zero.
	Now time.Time
	// ObservedAt goes into every record's ObservedAt.
	ObservedAt time.Time
	// MaxReportedLines caps the bad lines a refusal lists (the others are
	// only counted); DefaultMaxReportedLines when zero.
	MaxReportedLines int
}

// check reports a mistake of the caller (not of the file).
func (o *Options) check() error {
	var errs []error
	switch o.DateOrder {
	case "", DMY, MDY:
	default:
		errs = append(errs, fmt.Errorf("date order %q is not %s or %s", o.DateOrder, DMY, MDY))
	}
	if o.BoundLocation != "" {
		if _, ok := o.Locations[o.BoundLocation]; !ok {
			errs = append(errs, fmt.Errorf("bound location %q is not one of the agent's locations", o.BoundLocation))
		}
	}
	if o.MaxSize < 0 {
		errs = append(errs, fmt.Errorf("max size %d is negative", o.MaxSize))
	}
	if o.MaxReportedLines < 0 {
		errs = append(errs, fmt.Errorf("max reported lines %d is negative", o.MaxReportedLines))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("staffcsv options: %w", err)
	}
	return nil
}
