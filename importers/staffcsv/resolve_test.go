package staffcsv

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestResolverAgreesWithResolve walks wall times every 5 minutes over the
// three days around every transition from 2000 to 2030 of zones with unusual
// rules (a skipped day, half-hour changes, DST suspended for Ramadan), in
// order and shuffled, and checks that the cached resolver gives exactly what
// the plain time-zone lookup gives, skipped times included.
func TestResolverAgreesWithResolve(t *testing.T) {
	zones := []string{"America/Toronto", "Europe/Paris", "Pacific/Apia", "Australia/Lord_Howe",
		"America/Sao_Paulo", "Africa/Casablanca", "Europe/Moscow", "Asia/Tehran", "America/St_Johns", "UTC"}
	var walls []civilClock
	for _, name := range zones {
		zone := mustZone(t, name)
		walls = walls[:0]
		for at := time.Date(2000, 1, 1, 0, 0, 0, 0, zone); at.Year() < 2030; {
			_, end := at.ZoneBounds()
			if end.IsZero() {
				break
			}
			from := end.Add(-36 * time.Hour).UTC()
			for w := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC); w.Before(end.Add(36 * time.Hour)); w = w.Add(5 * time.Minute) {
				walls = append(walls, civilClock{civil{w.Year(), w.Month(), w.Day()}, clock{w.Hour(), w.Minute(), 0}})
			}
			at = end
		}
		if name != "UTC" && len(walls) < 1000 {
			t.Fatalf("%s: only %d wall times: no transitions found", name, len(walls))
		}
		check := func(order string) {
			var rs resolver
			for _, w := range walls {
				got, gotOK := rs.resolve(zone, w.d, w.c)
				want, wantOK := resolve(zone, w.d, w.c)
				if gotOK != wantOK || !got.Equal(want) || got.Location() != want.Location() {
					t.Fatalf("%s, %s (%s): resolver gives %v %v, resolve %v %v", name, formatWall(w.d, w.c), order, got, gotOK, want, wantOK)
				}
			}
		}
		check("in order")
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(walls), func(i, j int) { walls[i], walls[j] = walls[j], walls[i] })
		check("shuffled")
	}
}

type civilClock struct {
	d civil
	c clock
}

// TestResolveAroundTransitions walks wall times every 5 minutes over the
// three days around every transition from 2000 to 2030 of zones with unusual
// rules (a skipped day, half-hour changes, DST suspended for Ramadan) and
// checks resolve's decisions against their definition: of the instants that
// read as that wall time in the zone (with the offset before or after the
// transition), the earliest; none when the clocks skip it.
func TestResolveAroundTransitions(t *testing.T) {
	zones := []string{"America/Toronto", "Europe/Paris", "Pacific/Apia", "Australia/Lord_Howe",
		"America/Sao_Paulo", "Africa/Casablanca", "Europe/Moscow", "Asia/Tehran", "America/St_Johns", "UTC"}
	for _, name := range zones {
		zone := mustZone(t, name)
		walls, skipped, twice := 0, 0, 0
		for at := time.Date(2000, 1, 1, 0, 0, 0, 0, zone); at.Year() < 2030; {
			_, end := at.ZoneBounds()
			if end.IsZero() {
				break
			}
			_, before := end.Add(-time.Second).Zone()
			_, after := end.Zone()
			from := end.Add(-36 * time.Hour).UTC()
			for w := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC); w.Before(end.Add(36 * time.Hour)); w = w.Add(5 * time.Minute) {
				d, c := civil{w.Year(), w.Month(), w.Day()}, clock{w.Hour(), w.Minute(), 0}
				var want time.Time
				found := 0
				for _, off := range []int{before, after} {
					cand := w.Add(-time.Duration(off) * time.Second).In(zone)
					if !sameWall(cand, d, c) || (found > 0 && cand.Equal(want)) {
						continue
					}
					if found++; found == 1 || cand.Before(want) {
						want = cand
					}
				}
				got, ok := resolve(zone, d, c)
				switch {
				case found == 0 && ok:
					t.Fatalf("%s, %s: got %v, want skipped", name, formatWall(d, c), got)
				case found > 0 && (!ok || !got.Equal(want) || got.Location() != zone):
					t.Fatalf("%s, %s: got %v %v, want %v", name, formatWall(d, c), got, ok, want)
				}
				walls++
				skipped += btoi(found == 0)
				twice += btoi(found == 2)
			}
			at = end
		}
		if name != "UTC" && (walls < 1000 || skipped == 0 || twice == 0) {
			t.Fatalf("%s: %d wall times, %d skipped, %d twice: no transitions found", name, walls, skipped, twice)
		}
	}
}
