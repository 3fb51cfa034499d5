package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Record types, as the upstream API names them.
const (
	TypeTransaction = "transaction"
	TypeShift       = "shift"
)

// Transaction kinds.
const (
	KindSale   = "sale"
	KindReturn = "return"
	KindVoid   = "void"
)

// Sources, as the upstream API names them.
const (
	SourceCSV         = "csv"
	SourceShopify     = "shopify"
	SourceVend        = "vend"
	SourceWooCommerce = "woocommerce"
)

// Record is one line of an upstream batch: a transaction or a shift.
//
// Importers fill everything but Rev and ObservedAt, which the agent's buffer
// assigns when it commits the record: Rev goes up by one (at least) each time
// the content of a Key changes, and an unchanged record is not queued again.
// RevHint, when set, is a lower bound for Rev that survives the loss of the
// buffer (a POS version number, an update time in milliseconds).
type Record struct {
	Type       string    `json:"type"`
	Key        string    `json:"key"`
	Rev        int64     `json:"rev"`
	Source     string    `json:"source"`
	LocationID string    `json:"location_id"`
	ObservedAt time.Time `json:"observed_at"`

	*Transaction
	*Shift

	RevHint int64 `json:"-"`
}

// Transaction is a sale, a return or a void: what TMAS counts as one
// transaction.
type Transaction struct {
	Kind       string    `json:"kind"`
	OccurredAt time.Time `json:"occurred_at"`
	Receipt    string    `json:"receipt"`
	NetSales   Money     `json:"net_sales"`
	Tax        Money     `json:"tax"`
	Shipping   Money     `json:"shipping"`
	Tips       Money     `json:"tips"`
	Discounts  Money     `json:"discounts"`
	Currency   string    `json:"currency"`
	Items      int64     `json:"items"`
	StaffID    string    `json:"staff_id,omitempty"`
	RegisterID string    `json:"register_id,omitempty"`
	Lines      []Line    `json:"lines,omitempty"`
	Paid       bool      `json:"paid"`
}

// Line is one line of a transaction.
type Line struct {
	SKU     string `json:"sku,omitempty"`
	Barcode string `json:"barcode,omitempty"`
	Title   string `json:"title,omitempty"`
	Qty     int64  `json:"qty"`
	Net     Money  `json:"net"`
}

// Shift is one span of work by one person at one store.
type Shift struct {
	EmployeeID   string     `json:"employee_id"`
	EmployeeName string     `json:"employee_name,omitempty"`
	ClockIn      time.Time  `json:"clock_in"`
	ClockOut     *time.Time `json:"clock_out"`
	Hours        Money      `json:"hours"`
}

// Validate checks what the upstream API requires of every record, so that a
// bad record is refused where it was made instead of being dead-lettered by
// headquarters later. Rev and ObservedAt are not checked: the buffer sets them.
func (r *Record) Validate() error {
	var errs []string
	if r.Key == "" {
		errs = append(errs, "key is empty")
	}
	if r.Source == "" {
		errs = append(errs, "source is empty")
	}
	if r.LocationID == "" {
		errs = append(errs, "location_id is empty")
	}
	switch r.Type {
	case TypeTransaction:
		if r.Transaction == nil || r.Shift != nil {
			errs = append(errs, "a transaction record must carry transaction fields only")
			break
		}
		switch r.Kind {
		case KindSale, KindReturn, KindVoid:
		default:
			errs = append(errs, fmt.Sprintf("kind %q is not sale, return or void", r.Kind))
		}
		if r.OccurredAt.IsZero() {
			errs = append(errs, "occurred_at is missing")
		}
		if len(r.Currency) != 3 {
			errs = append(errs, fmt.Sprintf("currency %q is not an ISO 4217 code", r.Currency))
		}
	case TypeShift:
		if r.Shift == nil || r.Transaction != nil {
			errs = append(errs, "a shift record must carry shift fields only")
			break
		}
		if r.EmployeeID == "" {
			errs = append(errs, "employee_id is empty")
		}
		if r.ClockIn.IsZero() {
			errs = append(errs, "clock_in is missing")
		}
		if r.ClockOut != nil && r.ClockOut.Before(r.ClockIn) {
			errs = append(errs, "clock_out is before clock_in")
		}
	default:
		errs = append(errs, fmt.Sprintf("type %q is not transaction or shift", r.Type))
	}
	if len(errs) > 0 {
		return fmt.Errorf("record %s: %s", r.Key, strings.Join(errs, "; "))
	}
	return nil
}

// MarshalLine renders the record as one NDJSON line (without the newline).
func (r *Record) MarshalLine() ([]byte, error) {
	return json.Marshal(r)
}

// ErrNoMore is returned by an importer asked for a page past the end.
var ErrNoMore = errors.New("no more pages")
