package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxKeyBytes bounds a record key: bbolt refuses longer keys, so a longer one
// is an invalid line rather than a batch that can never be stored.
const maxKeyBytes = 32768

var (
	moneyRe    = regexp.MustCompile(`^-?[0-9]+\.[0-9]{2,}$`)
	decimalRe  = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
)

// decodeLine reads one NDJSON line as a single JSON value. An error means the
// body is not NDJSON (400), not that the record is invalid.
func decodeLine(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value on the line")
	}
	return v, nil
}

// validator checks lines against the record schema of the contract.
type validator struct {
	locations map[string]bool   // nil accepts any location
	reject    map[string]string // keys refused by an injected fault, with their error text
}

// check returns the problems of one decoded line, in a fixed order, and its
// key and rev when they are valid.
func (v *validator) check(val any) (key string, rev int64, problems []string) {
	m, ok := val.(map[string]any)
	if !ok {
		return "", 0, []string{"the line is not a JSON object, got " + kindOf(val)}
	}
	c := &checker{m: m}
	typ := c.str("type", true)
	switch typ {
	case "", "transaction", "shift":
	default:
		c.add("type: %q is not transaction or shift", typ)
	}
	key = c.str("key", true)
	if len(key) > maxKeyBytes {
		c.add("key: longer than %d bytes", maxKeyBytes)
	}
	rev, ok = c.integer("rev")
	if ok && rev < 1 {
		c.add("rev: %d is not >= 1", rev)
	}
	switch src := c.str("source", true); src {
	case "", "shopify", "vend", "woocommerce", "csv":
	default:
		c.add("source: %q is not shopify, vend, woocommerce or csv", src)
	}
	if loc := c.str("location_id", true); loc != "" && v.locations != nil && !v.locations[loc] {
		c.add("location_id: %q is not a known TMAS location", loc)
	}
	c.time("observed_at", false)

	switch typ {
	case "transaction":
		switch kind := c.str("kind", true); kind {
		case "", "sale", "return", "void":
		default:
			c.add("kind: %q is not sale, return or void", kind)
		}
		c.time("occurred_at", false)
		c.str("receipt", false)
		for _, f := range []string{"net_sales", "tax", "shipping", "tips", "discounts"} {
			c.money(f)
		}
		if cur := c.str("currency", true); cur != "" && !currencyRe.MatchString(cur) {
			c.add("currency: %q is not an ISO 4217 code", cur)
		}
		c.integer("items")
		c.boolean("paid")
		c.optionalString("staff_id")
		c.lines()
	case "shift":
		c.str("employee_id", true)
		c.optionalString("employee_name")
		in := c.time("clock_in", false)
		out := c.time("clock_out", true)
		if !in.IsZero() && !out.IsZero() && out.Before(in) {
			c.add("clock_out: before clock_in")
		}
		if h := c.decimalString("hours"); h != "" && !decimalRe.MatchString(h) {
			c.add("hours: %q is not a decimal", h)
		}
	}
	if key != "" {
		if text, ok := v.reject[key]; ok {
			c.problems = append(c.problems, text)
		}
	}
	if len(c.problems) > 0 {
		return "", 0, c.problems
	}
	return key, rev, nil
}

type checker struct {
	m        map[string]any
	problems []string
}

func (c *checker) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// get returns the field's value, adding "missing" when it is absent.
func (c *checker) get(field string) (any, bool) {
	v, ok := c.m[field]
	if !ok {
		c.add("%s: missing", field)
	}
	return v, ok
}

// str reads a required string field; nonEmpty also refuses "".
func (c *checker) str(field string, nonEmpty bool) string {
	v, ok := c.get(field)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		c.add("%s: must be a string, got %s", field, kindOf(v))
		return ""
	}
	if nonEmpty && strings.TrimSpace(s) == "" {
		c.add("%s: empty", field)
	}
	return s
}

func (c *checker) optionalString(field string) {
	v, ok := c.m[field]
	if !ok || v == nil {
		return
	}
	if _, ok := v.(string); !ok {
		c.add("%s: must be a string, got %s", field, kindOf(v))
	}
}

// integer reads a required integer field; ok is false when a problem was added.
func (c *checker) integer(field string) (int64, bool) {
	v, ok := c.get(field)
	if !ok {
		return 0, false
	}
	return c.intValue(field, v)
}

func (c *checker) intValue(field string, v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		c.add("%s: must be an integer, got %s", field, kindOf(v))
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		c.add("%s: %s is not an integer", field, n)
		return 0, false
	}
	return i, true
}

func (c *checker) boolean(field string) {
	v, ok := c.get(field)
	if !ok {
		return
	}
	if _, ok := v.(bool); !ok {
		c.add("%s: must be true or false, got %s", field, kindOf(v))
	}
}

// decimalString reads a field that must hold a decimal as a JSON string.
func (c *checker) decimalString(field string) string {
	v, ok := c.get(field)
	if !ok {
		return ""
	}
	return c.decimalValue(field, v)
}

func (c *checker) decimalValue(field string, v any) string {
	s, ok := v.(string)
	if !ok {
		c.add("%s: must be a decimal string, got %s", field, kindOf(v))
		return ""
	}
	if s == "" {
		c.add("%s: empty", field)
	}
	return s
}

func (c *checker) money(field string) {
	if s := c.decimalString(field); s != "" && !moneyRe.MatchString(s) {
		c.add("%s: %q is not a decimal with 2 or more places", field, s)
	}
}

// time reads an RFC 3339 time with a UTC offset; nullable accepts JSON null
// (and then returns the zero time).
func (c *checker) time(field string, nullable bool) time.Time {
	v, ok := c.get(field)
	if !ok {
		return time.Time{}
	}
	if v == nil && nullable {
		return time.Time{}
	}
	s, ok := v.(string)
	if !ok {
		want := "an RFC 3339 time string"
		if nullable {
			want = "null or " + want
		}
		c.add("%s: must be %s, got %s", field, want, kindOf(v))
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		c.add("%s: %q is not an RFC 3339 time with a UTC offset", field, s)
		return time.Time{}
	}
	if strings.HasSuffix(s, "-00:00") {
		// RFC 3339 section 4.3: -00:00 means the local offset is unknown.
		c.add("%s: %q has an unknown UTC offset (-00:00)", field, s)
		return time.Time{}
	}
	return t
}

// lines checks the optional array of transaction lines.
func (c *checker) lines() {
	v, ok := c.m["lines"]
	if !ok || v == nil {
		return
	}
	arr, ok := v.([]any)
	if !ok {
		c.add("lines: must be an array, got %s", kindOf(v))
		return
	}
	for i, it := range arr {
		name := fmt.Sprintf("lines[%d]", i)
		lm, ok := it.(map[string]any)
		if !ok {
			c.add("%s: must be an object, got %s", name, kindOf(it))
			continue
		}
		sub := &checker{m: lm}
		for _, f := range []string{"sku", "barcode", "title"} {
			sub.optionalString(f)
		}
		if q, ok := sub.get("qty"); ok {
			sub.intValue("qty", q)
		}
		if n, ok := sub.get("net"); ok {
			if s := sub.decimalValue("net", n); s != "" && !moneyRe.MatchString(s) {
				sub.add("net: %q is not a decimal with 2 or more places", s)
			}
		}
		for _, p := range sub.problems {
			c.problems = append(c.problems, name+"."+p)
		}
	}
}

// kindOf names a decoded JSON value's kind for error texts.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
