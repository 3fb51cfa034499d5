package spool

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tmas/storeagent/importers/record"
)

// encoded is a record's body (its transaction or shift fields) encoded once,
// with the hash of everything that makes its content: the body plus type,
// key, source and location. Rev and ObservedAt are not content.
type encoded struct {
	body []byte
	hash [16]byte
}

func encodeBody(r *record.Record) (encoded, error) {
	var v any = r.Transaction
	if r.Shift != nil {
		v = r.Shift
	}
	body, err := json.Marshal(v)
	if err != nil {
		return encoded{}, fmt.Errorf("spool: encode record %s: %w", r.Key, err)
	}
	h := sha256.New()
	for _, s := range []string{r.Type, r.Key, r.Source, r.LocationID} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	var e encoded
	e.body = body
	copy(e.hash[:], h.Sum(nil))
	return e, nil
}

// appendLine writes the NDJSON line of r (without newline), the same bytes
// json.Marshal(r) gives, around the body encoded once.
func appendLine(dst []byte, r *record.Record, body []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, r.Type)
	dst = append(dst, `,"key":`...)
	dst = appendString(dst, r.Key)
	dst = append(dst, `,"rev":`...)
	dst = strconv.AppendInt(dst, r.Rev, 10)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, r.Source)
	dst = append(dst, `,"location_id":`...)
	dst = appendString(dst, r.LocationID)
	dst = append(dst, `,"observed_at":"`...)
	dst = r.ObservedAt.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	if len(body) > 2 {
		dst = append(dst, ',')
		dst = append(dst, body[1:]...)
	} else {
		dst = append(dst, '}')
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
