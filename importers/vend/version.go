package vend

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the Lightspeed API version this importer speaks. Lightspeed
// is moving to dated versions (/api/2026-01/…), each supported for at least
// 12 months; a version's retirement is announced by Deprecation and Sunset
// headers, then answered 410 Gone (README: "API versions").
const APIVersion = "2.0"

// noticeEvery is how often a standing deprecation is repeated in the notes.
const noticeEvery = 24 * time.Hour

// observeDeprecation keeps what Lightspeed's Deprecation (RFC 9745: "@unix
// seconds"; earlier drafts: "true" or an HTTP date) and Sunset (RFC 8594, an
// HTTP date) headers say.
func (c *client) observeDeprecation(h http.Header) {
	dep, sun := strings.TrimSpace(h.Get("Deprecation")), strings.TrimSpace(h.Get("Sunset"))
	if dep == "" && sun == "" {
		return
	}
	var since, until string
	if t, ok := headerTime(dep); ok {
		since = t.UTC().Format(time.DateOnly)
	}
	if t, ok := headerTime(sun); ok {
		until = t.UTC().Format(time.DateOnly)
	}
	msg := "vend: Lightspeed has deprecated API " + APIVersion
	if since != "" {
		msg += " (since " + since + ")"
	}
	if until != "" {
		msg += " and will stop answering it on " + until + " (its Sunset header)"
	}
	msg += ": imports still work; upgrade storeagent to a version that speaks a dated Lightspeed API"
	if until != "" {
		msg += " before then"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if msg != c.deprecation {
		c.deprecation, c.noticed = msg, time.Time{}
	}
	if until != "" {
		c.sunset = until
	}
}

func headerTime(v string) (time.Time, bool) {
	if n, ok := strings.CutPrefix(v, "@"); ok {
		if s, err := strconv.ParseInt(n, 10, 64); err == nil {
			return time.Unix(s, 0), true
		}
		return time.Time{}, false
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// deprecated is the standing deprecation notice ("" when none was seen).
func (c *client) deprecated() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deprecation
}

// deprecationNote is the notice when it is new or was last given more than
// noticeEvery ago, else "".
func (c *client) deprecationNote(now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deprecation == "" || (!c.noticed.IsZero() && now.Sub(c.noticed) < noticeEvery) {
		return ""
	}
	c.noticed = now
	return c.deprecation
}

// goneError explains a 410: the API version was retired.
func (c *client) goneError(path string) error {
	c.mu.Lock()
	sunset := c.sunset
	c.mu.Unlock()
	when := ""
	if sunset != "" {
		when = " (its sunset date was " + sunset + ")"
	}
	return &apiError{http.StatusGone, fmt.Sprintf("vend: Lightspeed no longer serves %s (410 Gone): API %s has been retired%s; upgrade storeagent to a version that speaks a dated Lightspeed API (see importers/vend/README.md, \"API versions\")", path, APIVersion, when)}
}
