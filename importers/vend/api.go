package vend

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

// The API 2.0 shapes this package reads. Fields it does not need are left out.

// feedPage is the answer of every 2.0 list endpoint: records in ascending
// version order, and the range of versions they carry.
type feedPage[T any] struct {
	Data    []T `json:"data"`
	Version struct {
		Min *int64 `json:"min"`
		Max *int64 `json:"max"`
	} `json:"version"`
}

// resume is where the feed goes on after this page, whose records reach
// version highest: past that and the page's version.max. ok is false when
// that is not beyond after, where a feed that does not advance would loop.
func (p *feedPage[T]) resume(after, highest int64) (next int64, ok bool) {
	next = max(after, highest)
	if p.Version.Max != nil {
		next = max(next, *p.Version.Max)
	}
	return next, next > after
}

type apiOutlet struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	TimeZone  string  `json:"time_zone"`
	Currency  string  `json:"currency"`
	DeletedAt *string `json:"deleted_at"`
	Version   int64   `json:"version"`
}

type apiUser struct {
	ID                  string   `json:"id"`
	Username            string   `json:"username"`
	DisplayName         string   `json:"display_name"`
	RestrictedOutletID  *string  `json:"restricted_outlet_id"`
	RestrictedOutletIDs []string `json:"restricted_outlet_ids"`
	DeletedAt           *string  `json:"deleted_at"`
	Version             int64    `json:"version"`
}

type apiSale struct {
	ID            string        `json:"id"`
	OutletID      string        `json:"outlet_id"`
	RegisterID    string        `json:"register_id"`
	UserID        string        `json:"user_id"`
	ReceiptNumber string        `json:"receipt_number"`
	InvoiceNumber string        `json:"invoice_number"`
	Status        string        `json:"status"`
	State         string        `json:"state"`
	ReturnFor     *string       `json:"return_for"`
	IsReturn      bool          `json:"is_return"`
	TotalPrice    *record.Money `json:"total_price"`
	TotalTax      record.Money  `json:"total_tax"`
	SaleDate      string        `json:"sale_date"`
	CreatedAt     string        `json:"created_at"`
	UpdatedAt     string        `json:"updated_at"`
	DeletedAt     *string       `json:"deleted_at"`
	LineItems     []apiLine     `json:"line_items"`
	Version       int64         `json:"version"`
}

type apiLine struct {
	ID        string       `json:"id"`
	ProductID string       `json:"product_id"`
	SKU       string       `json:"sku"`
	Quantity  record.Money `json:"quantity"`
	Price     record.Money `json:"price"`
	Discount  record.Money `json:"discount"`
	Tax       record.Money `json:"tax"`
	IsReturn  bool         `json:"is_return"`
	Status    string       `json:"status"`
}

type apiShift struct {
	ID        string  `json:"id"`
	UserID    string  `json:"user_id"`
	TimeIn    string  `json:"time_in"`
	TimeOut   *string `json:"time_out"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
	DeletedAt *string `json:"deleted_at"`
	Version   int64   `json:"version"`
}

// probeItem is what seeking reads of any feed record.
type probeItem struct {
	Version   int64  `json:"version"`
	UpdatedAt string `json:"updated_at"`
	CreatedAt string `json:"created_at"`
	SaleDate  string `json:"sale_date"`
	TimeIn    string `json:"time_in"`
}

func (p probeItem) when() (time.Time, bool) {
	for _, s := range []string{p.UpdatedAt, p.CreatedAt, p.SaleDate, p.TimeIn} {
		if t, err := parseTime(s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseTime reads the API's timestamps: RFC 3339 with an offset or Z, with
// or without fractions, and the older "2006-01-02 15:04:05" (UTC).
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

func set(s *string) bool { return s != nil && strings.TrimSpace(*s) != "" }

// feed reads one page of a version feed.
func feed[T any](ctx context.Context, c *client, path string, after int64, pageSize int) (feedPage[T], error) {
	var p feedPage[T]
	q := url.Values{
		"after":     {strconv.FormatInt(after, 10)},
		"page_size": {strconv.Itoa(pageSize)},
		"deleted":   {"true"},
	}
	err := c.getJSON(ctx, path, q, &p)
	return p, err
}

// maxPages bounds the walk of a small list (outlets, users).
const maxPages = 200

// listAll walks a whole version feed (outlets, users).
func listAll[T any](ctx context.Context, c *client, path string, pageSize int, version func(T) int64) ([]T, error) {
	var all []T
	var after int64
	for range maxPages {
		p, err := feed[T](ctx, c, path, after, pageSize)
		if err != nil {
			return nil, err
		}
		if len(p.Data) == 0 {
			return all, nil
		}
		all = append(all, p.Data...)
		highest := after
		for _, x := range p.Data {
			highest = max(highest, version(x))
		}
		next, ok := p.resume(after, highest)
		if !ok {
			return nil, fmt.Errorf("vend: GET %s: the version feed did not advance past %d", path, after)
		}
		after = next
	}
	return nil, fmt.Errorf("vend: GET %s: more than %d pages", path, maxPages)
}
