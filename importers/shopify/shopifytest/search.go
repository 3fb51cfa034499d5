package shopifytest

import (
	"strings"
	"time"
)

// The orders search syntax, as far as the double understands it:
// space-separated field:value terms joined by AND, dates compared with
// >=, >, <= or <. Dates without an offset are read in the shop's zone, as
// Shopify does. Unknown fields and unreadable values are ignored with a
// warning in extensions.search, also as Shopify does, so a client that sends
// a filter the double cannot honour sees it.

type searchTerm struct {
	field string
	op    string
	at    time.Time
	str   string
}

type searchFilter struct {
	terms []searchTerm
}

func warning(field, msg string) any {
	return ordered{{"field", field}, {"message", msg}}
}

func splitSearch(q string) []string {
	var out []string
	var b strings.Builder
	var quote rune
	for _, r := range q {
		switch {
		case quote != 0:
			b.WriteRune(r)
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
			b.WriteRune(r)
		case r == ' ' || r == '\t':
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func parseSearchTime(v string, zone *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, zone); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseSearch(q string, zone *time.Location) (searchFilter, []any) {
	var f searchFilter
	var warnings []any
	for _, tok := range splitSearch(q) {
		switch strings.ToUpper(tok) {
		case "AND":
			continue
		case "OR", "NOT":
			warnings = append(warnings, warning(tok, "The double only supports terms joined by AND."))
			continue
		}
		field, val, ok := strings.Cut(tok, ":")
		if !ok {
			warnings = append(warnings, warning(tok, "Free-text search is not supported by the double."))
			continue
		}
		op := ""
		for _, o := range []string{">=", "<=", ">", "<"} {
			if strings.HasPrefix(val, o) {
				op, val = o, val[len(o):]
				break
			}
		}
		quoted := len(val) >= 2 && (val[0] == '\'' && val[len(val)-1] == '\'' || val[0] == '"' && val[len(val)-1] == '"')
		if quoted {
			val = val[1 : len(val)-1]
		}
		switch field {
		case "updated_at", "created_at", "processed_at":
			if !quoted && strings.Contains(val, ":") {
				warnings = append(warnings, warning(field, "Values containing a colon must be quoted."))
				continue
			}
			t, ok := parseSearchTime(val, zone)
			if !ok {
				warnings = append(warnings, warning(field, "Invalid date: "+val))
				continue
			}
			if op == "" {
				op = "="
			}
			f.terms = append(f.terms, searchTerm{field: field, op: op, at: t})
		case "test", "source_name", "status":
			f.terms = append(f.terms, searchTerm{field: field, op: "=", str: val})
		default:
			warnings = append(warnings, warning(field, "Invalid search field for this query."))
		}
	}
	return f, warnings
}

func cmpTime(t time.Time, op string, bound time.Time) bool {
	switch op {
	case ">=":
		return !t.Before(bound)
	case ">":
		return t.After(bound)
	case "<=":
		return !t.After(bound)
	case "<":
		return t.Before(bound)
	}
	return t.Equal(bound)
}

func (f searchFilter) match(o *order, updated time.Time) bool {
	for _, t := range f.terms {
		switch t.field {
		case "updated_at":
			if !cmpTime(updated, t.op, t.at) {
				return false
			}
		case "created_at":
			if !cmpTime(o.createdAt, t.op, t.at) {
				return false
			}
		case "processed_at":
			if !cmpTime(o.spec.ProcessedAt, t.op, t.at) {
				return false
			}
		case "test":
			if (t.str == "true") != o.spec.Test {
				return false
			}
		case "source_name":
			if t.str != o.spec.Source {
				return false
			}
		case "status":
			if t.str == "cancelled" && o.cancelledAt == nil {
				return false
			}
		}
	}
	return true
}

// lowerUpdated is the start of the updated_at range, for an index seek.
func (f searchFilter) lowerUpdated() (time.Time, bool) {
	var lo time.Time
	ok := false
	for _, t := range f.terms {
		if t.field == "updated_at" && (t.op == ">=" || t.op == ">" || t.op == "=") && (!ok || t.at.After(lo)) {
			lo, ok = t.at, true
		}
	}
	return lo, ok
}

// beyondUpdated reports whether updatedAt t, and so every later one, is past
// the end of the updated_at range.
func (f searchFilter) beyondUpdated(t time.Time) bool {
	for _, term := range f.terms {
		if term.field == "updated_at" && (term.op == "<" || term.op == "<=" || term.op == "=") && t.After(term.at) {
			return true
		}
		if term.field == "updated_at" && term.op == "<" && t.Equal(term.at) {
			return true
		}
	}
	return false
}
