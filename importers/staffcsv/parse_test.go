package staffcsv

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want column
		ok   bool
	}{
		{"location_id", colLocation, true}, {"Store ID", colLocation, true}, {"MAGASIN", colLocation, true}, {"tienda", colLocation, true},
		{"Employee-ID", colEmployee, true}, {"Badge", colEmployee, true}, {"matricule", colEmployee, true}, {"Empleado", colEmployee, true},
		{"Employee Name", colName, true}, {"Nom", colName, true}, {"nombre", colName, true},
		{"date", colDate, true}, {"Jour", colDate, true}, {"Fecha", colDate, true}, {"Día", colDate, true}, {"DIA", colDate, true},
		{"Clock In", colIn, true}, {"Entrée", colIn, true}, {"ENTRÉE", colIn, true}, {"entrada", colIn, true}, {"Start", colIn, true},
		{"clock-out", colOut, true}, {"Sortie", colOut, true}, {"Salida", colOut, true}, {"End", colOut, true},
		{"Worked Hours", colHours, true}, {"Heures", colHours, true}, {"Horas", colHours, true},
		{"Break_Minutes", colBreak, true}, {"Pause", colBreak, true}, {"descanso", colBreak, true},
		{"\ufeffemployee_id", colEmployee, true}, {" employee_id ", colEmployee, true}, {"employee\u00a0id", colEmployee, true},
		{"Prénom", 0, false}, {"notes", 0, false}, {"", 0, false},
	} {
		c, ok := lookupColumn(normalizeHeader(tc.in))
		if c != tc.want || ok != tc.ok {
			t.Errorf("%q: got %v %v, want %v %v", tc.in, c, ok, tc.want, tc.ok)
		}
	}
}

func TestChooseDelimiter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rune
	}{
		{"location_id,employee_id,date", ','},
		{"location_id;employee_id;date", ';'},
		{"location_id\temployee_id\tdate", '\t'},
		{`"Nom, Prénom";employee_id;date`, ';'},
		{"location_id;employee_id,notes;date", ';'},
		{"a;b;c", ';'},
		{"nothing", ','},
	} {
		if got := chooseDelimiter([]byte(tc.in), encUTF8); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseWhen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mdy  bool
		want string // kind date clock, or "bad"
	}{
		{"", false, "0 0000-00-00 00:00:00"},
		{"8:05", false, "1 0000-00-00 08:05:00"},
		{"23:59:59", false, "1 0000-00-00 23:59:59"},
		{"2026-11-20 08:58", false, "2 2026-11-20 08:58:00"},
		{"2026-11-20T08:58:07.123", false, "2 2026-11-20 08:58:07"},
		{"20/11/2026 08:58", false, "2 2026-11-20 08:58:00"},
		{"11/20/2026 08:58", true, "2 2026-11-20 08:58:00"},
		{"2026-11-20T08:58:00Z", false, "3 2026-11-20 08:58:00 2026-11-20T08:58:00Z"},
		{"2026-11-20T08:58:00-05:00", false, "3 2026-11-20 08:58:00 2026-11-20T13:58:00Z"},
		{"2026-11-20T08:58:00+0530", false, "3 2026-11-20 08:58:00 2026-11-20T03:28:00Z"},
		{"24:00", false, "bad"}, {"8:5", false, "bad"}, {"08:58:60", false, "bad"}, {"8h58", false, "bad"},
		{"2026-11-20", false, "bad"}, {"2026-11-20  08:58", false, "bad"}, {"2026-11-20 08:58 ", false, "bad"},
		{"2026-11-20T08:58:00+5", false, "bad"}, {"2026-11-20T08:58:00+24:00", false, "bad"}, {"11/20/2026 08:58", false, "bad"},
		{"08:58:00.", false, "bad"}, {"123:00", false, "bad"},
	} {
		var w when
		ok := parseWhen(tc.in, tc.mdy, &w)
		got := "bad"
		if ok {
			got = fmt.Sprintf("%d %04d-%02d-%02d %02d:%02d:%02d", w.kind, w.date.y, w.date.m, w.date.d, w.clock.h, w.clock.m, w.clock.s)
			if w.kind == whenInstant {
				got += " " + w.t.UTC().Format(time.RFC3339)
			}
		}
		if got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseHoursAndBreak(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"7", "7/1"}, {"7.5", "75/10"}, {"7,5", "75/10"}, {",5", "5/10"}, {"7:30", "450/60"}, {"7h30", "450/60"}, {"7h", "7/1"},
		{"-2", "-2/1"}, {"-0:30", "-30/60"}, {"99999", "1000/1"}, {"7.333333333333333", "7333333333333333/1000000000000000"},
		{"", "bad"}, {"7.", "bad"}, {"7:3", "bad"}, {"7:60", "bad"}, {"h30", "bad"}, {"1,234.5", "bad"}, {"7.5h", "bad"},
		{"+7", "bad"}, {"7.3333333333333333", "bad"}, {"sept", "bad"},
	} {
		r, ok := parseHours(tc.in)
		got := "bad"
		if ok {
			got = fmt.Sprintf("%d/%d", r.num, r.den)
		}
		if got != tc.want {
			t.Errorf("hours %q: got %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"30", "30"}, {"0", "0"}, {"30.0", "30"}, {"30,00", "30"}, {"-5", "-5"}, {"1440", "1440"}, {"1441", "1441"}, {"99999999", "1441"},
		{"30.5", "bad"}, {"30.", "bad"}, {"", "bad"}, {"0:30", "bad"}, {"abc", "bad"},
	} {
		b, ok := parseBreak(tc.in)
		got := "bad"
		if ok {
			got = fmt.Sprint(b)
		}
		if got != tc.want {
			t.Errorf("break %q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHoursDecimal(t *testing.T) {
	for _, tc := range []struct {
		r    ratio
		want string
	}{
		{ratio{0, 1}, "0.00"},
		{ratio{27360, 3600}, "7.60"},
		{ratio{27000, 3600}, "7.50"},
		{ratio{26400, 3600}, "7.33"}, // 7 h 20 min
		{ratio{27600, 3600}, "7.67"}, // 7 h 40 min: half up
		{ratio{9, 3600}, "0.0025"},   // 9 s
		{ratio{18, 3600}, "0.005"},   // 18 s
		{ratio{1, 3600}, "0.00"},     // 1 s
		{ratio{60 * 7125, 60 * 1000}, "7.125"},
		{ratio{60*733333333333333 - 0, 60 * 100000000000000}, "7.33333333333333"},
		{ratio{60*75 - 20*10, 60 * 10}, "7.17"},
	} {
		if got := hoursDecimal(tc.r).StringFixed(max(-hoursDecimal(tc.r).Exponent(), 2)); got != tc.want {
			t.Errorf("%d/%d: got %s, want %s", tc.r.num, tc.r.den, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	tor := mustZone(t, "America/Toronto")
	lh := mustZone(t, "Australia/Lord_Howe") // half-hour shifts
	for _, tc := range []struct {
		zone *time.Location
		d    civil
		c    clock
		want string
	}{
		{tor, civil{2026, 11, 1}, clock{0, 59, 0}, "2026-11-01T00:59:00-04:00"},
		{tor, civil{2026, 11, 1}, clock{1, 0, 0}, "2026-11-01T01:00:00-04:00"},
		{tor, civil{2026, 11, 1}, clock{1, 59, 59}, "2026-11-01T01:59:59-04:00"},
		{tor, civil{2026, 11, 1}, clock{2, 0, 0}, "2026-11-01T02:00:00-05:00"},
		{tor, civil{2026, 3, 8}, clock{1, 59, 59}, "2026-03-08T01:59:59-05:00"},
		{tor, civil{2026, 3, 8}, clock{2, 0, 0}, "skipped"},
		{tor, civil{2026, 3, 8}, clock{2, 59, 59}, "skipped"},
		{tor, civil{2026, 3, 8}, clock{3, 0, 0}, "2026-03-08T03:00:00-04:00"},
		{lh, civil{2026, 4, 5}, clock{1, 45, 0}, "2026-04-05T01:45:00+11:00"},
		{lh, civil{2026, 10, 4}, clock{2, 15, 0}, "skipped"},
		{time.UTC, civil{2026, 11, 1}, clock{1, 30, 0}, "2026-11-01T01:30:00Z"},
	} {
		got := "skipped"
		if r, ok := resolve(tc.zone, tc.d, tc.c); ok {
			got = r.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("%v %v in %v: got %s, want %s", tc.d, tc.c, tc.zone, got, tc.want)
		}
	}
}

func TestSnifferUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		utf8 bool
	}{
		{"plain", true}, {"Hélène € 𝄞", true}, {"H\xe9l\xe8ne", false}, {"ends cut \xe2\x82", false},
		{"\xe2\x82\xac", true}, {"\xf0\x9d\x84\x9e", true}, {"\xe2a", false}, {"\xed\xa0\x80", false}, {"\xff", false},
	} {
		for _, mode := range []string{"whole", "one byte at a time"} {
			src := bytes.NewReader([]byte(tc.in))
			s := &sniffer{r: src}
			if mode != "whole" {
				s.r = iotest.OneByteReader(src)
			}
			buf := make([]byte, 3)
			for {
				if _, err := s.Read(buf); err != nil {
					break
				}
			}
			s.finish()
			if got := !s.notUTF8; got != tc.utf8 {
				t.Errorf("%q read %s: got UTF-8 %v, want %v", tc.in, mode, got, tc.utf8)
			}
		}
	}
}

func TestSnifferLimits(t *testing.T) {
	s := &sniffer{r: strings.NewReader(strings.Repeat("x", 100)), max: 99}
	var err error
	buf := make([]byte, 10)
	for err == nil {
		_, err = s.Read(buf)
	}
	if err != errTooLarge {
		t.Errorf("got %v, want %v", err, errTooLarge)
	}
	s = &sniffer{r: strings.NewReader("ab\x00c")}
	if _, err := s.Read(make([]byte, 10)); err != errNotText || s.nulAt != 2 {
		t.Errorf("got %v at %d, want %v at 2", err, s.nulAt, errNotText)
	}
	got := scanHead([]byte("\n  \nsep=;\n\nheader;x\nrow\n"), true)
	if diff := cmp.Diff(headInfo{sep: ';', header: []byte("header;x")}, got, cmp.AllowUnexported(headInfo{})); diff != "" {
		t.Errorf("scanHead (-want +got):\n%s", diff)
	}
}
