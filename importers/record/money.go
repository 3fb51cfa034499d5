package record

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Money is an exact decimal amount. It is written to JSON as a string with at
// least two decimal places ("12.50", "-3.00", "0.125"), never as a number.
type Money struct{ d decimal.Decimal }

// Zero is 0.00.
var Zero = Money{}

// M wraps a decimal.
func M(d decimal.Decimal) Money { return Money{d} }

// ParseMoney reads a decimal string such as "12.5" or "-0.0100000000".
func ParseMoney(s string) (Money, error) {
	d, err := decimal.NewFromString(strings.TrimSpace(s))
	if err != nil {
		return Money{}, fmt.Errorf("%q is not a decimal number", s)
	}
	return Money{d}, nil
}

// MustMoney is ParseMoney for constants in code and tests; it panics on a bad literal.
func MustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// Decimal returns the underlying decimal.
func (m Money) Decimal() decimal.Decimal { return m.d }

// Add returns m + o.
func (m Money) Add(o Money) Money { return Money{m.d.Add(o.d)} }

// Sub returns m - o.
func (m Money) Sub(o Money) Money { return Money{m.d.Sub(o.d)} }

// Neg returns -m.
func (m Money) Neg() Money { return Money{m.d.Neg()} }

// IsZero reports whether m is zero.
func (m Money) IsZero() bool { return m.d.IsZero() }

// Equal reports whether the amounts are equal (2.50 equals 2.5).
func (m Money) Equal(o Money) bool { return m.d.Equal(o.d) }

// Round2 rounds half away from zero to cents, the way tills round totals.
func (m Money) Round2() Money { return Money{m.d.Round(2)} }

// String renders the amount with at least two decimal places.
func (m Money) String() string { return string(m.appendTo(nil)) }

// appendTo formats the amount. Amounts whose coefficient fits in an int64
// (all real ones) are formatted by hand: this runs for every money field of
// every record the agent stores.
func (m Money) appendTo(dst []byte) []byte {
	exp := m.d.Exponent()
	if exp > 0 || exp < -18 || !m.d.Coefficient().IsInt64() {
		return append(dst, m.d.StringFixed(max(-exp, 2))...)
	}
	c := m.d.CoefficientInt64()
	if c < 0 {
		dst = append(dst, '-')
		c = -c
	}
	places := int(-exp)
	var buf [24]byte
	digits := strconv.AppendInt(buf[:0], c, 10)
	if len(digits) <= places { // 0.0x: pad with leading zeros
		dst = append(dst, '0')
		digits = append(bytes.Repeat([]byte{'0'}, places-len(digits)), digits...)
	} else {
		dst = append(dst, digits[:len(digits)-places]...)
		digits = digits[len(digits)-places:]
	}
	dst = append(dst, '.')
	dst = append(dst, digits...)
	for range 2 - places {
		dst = append(dst, '0')
	}
	return dst
}

// MarshalJSON writes the amount as a JSON string.
func (m Money) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 24)
	b = append(b, '"')
	b = m.appendTo(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON string or, for POS payloads that use them, a
// JSON number (read exactly from its text, never through a float).
func (m *Money) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*m = Money{}
		return nil
	}
	s = strings.Trim(s, `"`)
	if s == "" {
		*m = Money{}
		return nil
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}
