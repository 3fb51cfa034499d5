package staffcsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

// brief renders a record as "key | clock_in | clock_out | hours | name", the
// fields a table can hold on one line.
func brief(r record.Record) string {
	out := "open"
	if r.ClockOut != nil {
		out = r.ClockOut.Format(time.RFC3339)
	}
	return strings.Join([]string{r.Key, r.ClockIn.Format(time.RFC3339), out, r.Hours.String(), r.EmployeeName}, " | ")
}

// run imports in and returns the brief records, or the problems of the
// refusal as report lines.
func run(t *testing.T, in string, opts Options) (recs, problems []string, sum Summary) {
	t.Helper()
	sum, err := Import(strings.NewReader(in), opts, 0, func(r record.Record) error {
		if err := r.Validate(); err != nil {
			t.Errorf("emitted an invalid record: %v", err)
		}
		if r.Source != record.SourceCSV || r.Type != record.TypeShift || r.Rev != 0 || r.RevHint != 0 || !r.ObservedAt.Equal(opts.ObservedAt) {
			t.Errorf("got record header %q %q rev %d/%d observed %v, want csv shift, revs 0, observed %v",
				r.Source, r.Type, r.Rev, r.RevHint, r.ObservedAt, opts.ObservedAt)
		}
		recs = append(recs, brief(r))
		return nil
	})
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		if recs != nil {
			t.Errorf("got %d records from a refused file", len(recs))
		}
		for _, p := range ref.Problems {
			problems = append(problems, p.String())
		}
	case err != nil:
		t.Fatalf("Import: %v", err)
	}
	return recs, problems, sum
}

func TestImportAccepts(t *testing.T) {
	const (
		hdr    = "location_id,employee_id,employee_name,date,clock_in,clock_out,break_minutes\n"
		semi   = "location_id;employee_id;date;hours;break_minutes\n"
		e017   = "csv:0421:E017:2026-11-20T08:58 | 2026-11-20T08:58:00-05:00 | 2026-11-20T17:04:00-05:00 | 7.60 | "
		e017HD = "csv:0421:E017:2026-11-20T08:58 | 2026-11-20T08:58:00-05:00 | 2026-11-20T17:04:00-05:00 | 7.60 | Hélène Dubé"
	)
	day := func(hours, out string) []string {
		return []string{"csv:0421:E017:2026-11-20 | 2026-11-20T00:00:00-05:00 | 2026-11-20T" + out + "-05:00 | " + hours + " | "}
	}
	for _, tc := range []struct {
		name string
		in   string
		opts func(*Options)
		want []string
	}{
		{name: "comma english", in: hdr + "0421,E017,,2026-11-20,08:58,17:04,30\n", want: []string{e017}},
		{name: "contract example, semicolon and french aliases",
			in:   "location_id;employee_id;nom;date;entree;sortie;pause\n0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\n0421;E022;Marc Roy;20/11/2026;22:00;06:00;0\n",
			want: []string{e017HD, "csv:0421:E022:2026-11-20T22:00 | 2026-11-20T22:00:00-05:00 | 2026-11-21T06:00:00-05:00 | 8.00 | Marc Roy"}},
		{name: "accented, cased, spaced and hyphenated headers",
			in:   "Magasin;MATRICULE;Nom;Jour;Entrée;Sortie;Pause\n0421;E017;Hélène Dubé;20/11/2026;08:58;17:04;30\n",
			want: []string{e017HD}},
		{name: "header spelling variants",
			in:   "Location Id,Employee-ID,Employee_Name,DATE,Clock In,clock-out,Break Minutes\n0421,E017,,2026-11-20,08:58,17:04,30\n",
			want: []string{e017}},
		{name: "spanish aliases with accents",
			in:   "Tienda\tEmpleado\tNombre\tDía\tEntrada\tSalida\tDescanso\n0421\tE017\tHélène Dubé\t20/11/2026\t08:58\t17:04\t30\n",
			want: []string{e017HD}},
		{name: "short english aliases",
			in:   "store,employee,name,day,in,out,break\n0421,E017,,2026-11-20,08:58,17:04,30\n",
			want: []string{e017}},
		{name: "tab delimiter", in: strings.ReplaceAll(hdr+"0421,E017,,2026-11-20,08:58,17:04,30\n", ",", "\t"), want: []string{e017}},
		{name: "CRLF, blank lines, empty Excel rows and trailing empty fields",
			in:   "\r\n" + strings.ReplaceAll(hdr, "\n", "\r\n") + "\r\n,,,,,,\r\n0421,E017,,2026-11-20,08:58,17:04,30,,\r\n  \r\n",
			want: []string{e017}},
		{name: "extra columns are ignored",
			in:   "notes,location_id,employee_id,manager,date,clock_in,clock_out,break_minutes\nlate,0421,E017,Ann,2026-11-20,08:58,17:04,30\n",
			want: []string{e017}},
		{name: "UTF-8 BOM", in: "\xEF\xBB\xBF" + hdr + "0421,E017,Hélène Dubé,2026-11-20,08:58,17:04,30\n", want: []string{e017HD}},
		{name: "Windows-1252",
			in:   "location_id;matricule;nom;date;entr\xe9e;sortie;pause\n0421;E017;H\xe9l\xe8ne Dub\xe9;20/11/2026;08:58;17:04;30\n",
			want: []string{e017HD}},
		{name: "Windows-1252 characters above 0x7f that are not Latin-1",
			in:   hdr + "0421,E017,Chlo\xe9 B\x9cuf \x80,2026-11-20,08:58,17:04,30\n",
			want: []string{strings.TrimSuffix(e017, " ") + " Chloé Bœuf €"}},
		{name: "Excel sep= line", in: "sep=;\r\nlocation_id;employee_id;date;clock_in;clock_out\r\n0421;E017;20/11/2026;08:58;17:04\r\n",
			want: []string{"csv:0421:E017:2026-11-20T08:58 | 2026-11-20T08:58:00-05:00 | 2026-11-20T17:04:00-05:00 | 8.10 | "}},
		{name: "quoted fields with delimiters, quotes and line breaks",
			in:   hdr + "0421,E017,\"Dubé, \"\"Nell\"\"\nHélène\",2026-11-20,08:58,17:04,30\n",
			want: []string{strings.TrimSuffix(e017, " ") + " Dubé, \"Nell\"\nHélène"}},
		{name: "single-digit hour, seconds", in: hdr + "0421,E017,,2026-11-20,8:58:30,17:04:00,30\n",
			want: []string{"csv:0421:E017:2026-11-20T08:58 | 2026-11-20T08:58:30-05:00 | 2026-11-20T17:04:00-05:00 | 7.59 | "}},
		{name: "seconds that no decimal writes exactly are rounded", in: hdr + "0421,E017,,2026-11-20,09:00,17:00:01,0\n",
			want: []string{"csv:0421:E017:2026-11-20T09:00 | 2026-11-20T09:00:00-05:00 | 2026-11-20T17:00:01-05:00 | 8.00 | "}},
		{name: "minutes that no decimal writes exactly are rounded half up", in: hdr + "0421,E017,,2026-11-20,09:00,16:20,0\n0421,E018,,2026-11-20,09:00,16:40,0\n",
			want: []string{
				"csv:0421:E017:2026-11-20T09:00 | 2026-11-20T09:00:00-05:00 | 2026-11-20T16:20:00-05:00 | 7.33 | ",
				"csv:0421:E018:2026-11-20T09:00 | 2026-11-20T09:00:00-05:00 | 2026-11-20T16:40:00-05:00 | 7.67 | "}},
		{name: "date D/M/YYYY with single digits", in: hdr + "0421,E017,,5/1/2026,09:00,17:00,0\n",
			want: []string{"csv:0421:E017:2026-01-05T09:00 | 2026-01-05T09:00:00-05:00 | 2026-01-05T17:00:00-05:00 | 8.00 | "}},
		{name: "date M/D/YYYY", in: hdr + "0421,E017,,1/5/2026,09:00,17:00,0\n0421,E018,,11/20/2026,09:00,17:00,0\n",
			opts: func(o *Options) { o.DateOrder = MDY },
			want: []string{
				"csv:0421:E017:2026-01-05T09:00 | 2026-01-05T09:00:00-05:00 | 2026-01-05T17:00:00-05:00 | 8.00 | ",
				"csv:0421:E018:2026-11-20T09:00 | 2026-11-20T09:00:00-05:00 | 2026-11-20T17:00:00-05:00 | 8.00 | "}},
		{name: "full timestamps, date column ignored",
			in: "location_id,employee_id,date,clock_in,clock_out\n" +
				"0421,E017,2026-01-01,2026-11-20 08:58,2026-11-20 17:04:00\n" +
				"0421,E018,,2026-11-20T09:00,2026-11-20t17:00:00.000\n" +
				"0421,E019,,20/11/2026 09:00,20/11/2026 17:00\n",
			want: []string{
				"csv:0421:E017:2026-11-20T08:58 | 2026-11-20T08:58:00-05:00 | 2026-11-20T17:04:00-05:00 | 8.10 | ",
				"csv:0421:E018:2026-11-20T09:00 | 2026-11-20T09:00:00-05:00 | 2026-11-20T17:00:00-05:00 | 8.00 | ",
				"csv:0421:E019:2026-11-20T09:00 | 2026-11-20T09:00:00-05:00 | 2026-11-20T17:00:00-05:00 | 8.00 | "}},
		{name: "RFC 3339 with offsets, shown in the store's zone",
			in: "location_id,employee_id,clock_in,clock_out\n" +
				"0421,E017,2026-11-20T13:58:00Z,2026-11-20T17:04:00-05:00\n" +
				"0422,P001,2026-11-20T09:00:00+0000,2026-11-20T17:30:00.5+01:00\n",
			want: []string{
				"csv:0421:E017:2026-11-20T08:58 | 2026-11-20T08:58:00-05:00 | 2026-11-20T17:04:00-05:00 | 8.10 | ",
				"csv:0422:P001:2026-11-20T10:00 | 2026-11-20T10:00:00+01:00 | 2026-11-20T17:30:00+01:00 | 7.50 | "}},
		{name: "time-only clock_out with a full clock_in takes its date",
			in:   "location_id,employee_id,clock_in,clock_out\n0421,E017,2026-11-20 22:00,06:00\n",
			want: []string{"csv:0421:E017:2026-11-20T22:00 | 2026-11-20T22:00:00-05:00 | 2026-11-21T06:00:00-05:00 | 8.00 | "}},
		{name: "overnight across a month and a year",
			in: hdr + "0421,E017,,2026-09-30,22:00,06:00,0\n0421,E018,,2025-12-31,23:00,01:30,0\n",
			want: []string{
				"csv:0421:E017:2026-09-30T22:00 | 2026-09-30T22:00:00-04:00 | 2026-10-01T06:00:00-04:00 | 8.00 | ",
				"csv:0421:E018:2025-12-31T23:00 | 2025-12-31T23:00:00-05:00 | 2026-01-01T01:30:00-05:00 | 2.50 | "}},
		{name: "fall back: the repeated hour is its first occurrence, worked hours are real hours",
			in: hdr + "0421,E017,,2026-10-31,22:00,06:00,0\n0421,E018,,2026-11-01,01:30,01:45,0\n0421,E019,,2026-11-01,01:30,03:00,0\n",
			want: []string{
				"csv:0421:E017:2026-10-31T22:00 | 2026-10-31T22:00:00-04:00 | 2026-11-01T06:00:00-05:00 | 9.00 | ",
				"csv:0421:E018:2026-11-01T01:30 | 2026-11-01T01:30:00-04:00 | 2026-11-01T01:45:00-04:00 | 0.25 | ",
				"csv:0421:E019:2026-11-01T01:30 | 2026-11-01T01:30:00-04:00 | 2026-11-01T03:00:00-05:00 | 2.50 | "}},
		{name: "spring forward: a night shift is an hour shorter",
			in:   hdr + "0421,E017,,2026-03-07,22:00,06:00,30\n",
			want: []string{"csv:0421:E017:2026-03-07T22:00 | 2026-03-07T22:00:00-05:00 | 2026-03-08T06:00:00-04:00 | 6.50 | "}},
		{name: "open shift", in: hdr + "0421,E017,,2026-11-21,06:55,,30\n",
			want: []string{"csv:0421:E017:2026-11-21T06:55 | 2026-11-21T06:55:00-05:00 | open | 0.00 | "}},
		{name: "clock times win over an hours column",
			in:   "location_id,employee_id,date,clock_in,clock_out,hours\n0421,E017,2026-11-20,08:58,17:04,9\n",
			want: []string{"csv:0421:E017:2026-11-20T08:58 | 2026-11-20T08:58:00-05:00 | 2026-11-20T17:04:00-05:00 | 8.10 | "}},
		{name: "hours with a decimal comma", in: semi + "0421;E017;20/11/2026;7,5;\n", want: day("7.50", "07:30:00")},
		{name: "hours with a decimal point", in: semi + "0421;E017;20/11/2026;7.5;\n", want: day("7.50", "07:30:00")},
		{name: "hours H:MM", in: semi + "0421;E017;20/11/2026;7:20;\n", want: day("7.33", "07:20:00")},
		{name: "hours 7h30", in: semi + "0421;E017;20/11/2026;7h30;\n", want: day("7.50", "07:30:00")},
		{name: "hours 7h", in: semi + "0421;E017;20/11/2026;7H;\n", want: day("7.00", "07:00:00")},
		{name: "hours .5", in: semi + "0421;E017;20/11/2026;,5;\n", want: day("0.50", "00:30:00")},
		{name: "hours with three places stay exact", in: semi + "0421;E017;20/11/2026;7.125;\n", want: day("7.125", "07:07:30")},
		{name: "hours as Excel writes a third", in: semi + "0421;E017;20/11/2026;7.33333333333333;\n", want: day("7.33333333333333", "07:20:00")},
		{name: "hours minus a break", in: semi + "0421;E017;20/11/2026;7.5;30\n", want: day("7.00", "07:30:00")},
		{name: "hours minus a break of a third of an hour", in: semi + "0421;E017;20/11/2026;7.5;20\n", want: day("7.17", "07:30:00")},
		{name: "break written 30.0 and 24 hours", in: semi + "0421;E017;20/11/2026;24;30,00\n",
			want: []string{"csv:0421:E017:2026-11-20 | 2026-11-20T00:00:00-05:00 | 2026-11-21T00:00:00-05:00 | 23.50 | "}},
		{name: "bound location without a column",
			in:   "employee_id,date,clock_in,clock_out,break_minutes\nE017,2026-11-20,08:58,17:04,30\n",
			opts: func(o *Options) { o.BoundLocation = "0421" },
			want: []string{e017}},
		{name: "bound location with the column empty or equal",
			in:   hdr + ",E017,,2026-11-20,08:58,17:04,30\n0421,E018,,2026-11-20,08:58,17:04,30\n",
			opts: func(o *Options) { o.BoundLocation = "0421" },
			want: []string{e017, strings.Replace(e017, "E017", "E018", 1)}},
		{name: "location without a zone takes the default zone",
			in:   hdr + "0500,E017,,2026-11-20,08:58,17:04,30\n",
			opts: func(o *Options) { o.Locations["0500"] = nil; o.Zone = time.UTC },
			want: []string{"csv:0500:E017:2026-11-20T08:58 | 2026-11-20T08:58:00Z | 2026-11-20T17:04:00Z | 7.60 | "}},
		{name: "shift starting less than a day ahead", in: hdr + "0421,E017,,2026-11-22,06:59,,\n",
			want: []string{"csv:0421:E017:2026-11-22T06:59 | 2026-11-22T06:59:00-05:00 | open | 0.00 | "}},
		{name: "header only", in: hdr, want: nil},
		{name: "header without final line break", in: strings.TrimSuffix(hdr, "\n"), want: nil},
		{name: "last row without final line break", in: hdr + "0421,E017,,2026-11-20,08:58,17:04,30", want: []string{e017}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := baseOptions(t)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			got, problems, _ := run(t, tc.in, opts)
			if problems != nil {
				t.Fatalf("got refusal %q, want records", problems)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("got other records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImportRefuses(t *testing.T) {
	const hdr = "location_id,employee_id,employee_name,date,clock_in,clock_out,hours,break_minutes\n"
	const notTime = ` is not a time (use HH:MM, HH:MM:SS, YYYY-MM-DD HH:MM or RFC 3339)`
	for _, tc := range []struct {
		name string
		in   string
		opts func(*Options)
		want []string
	}{
		{name: "empty file", in: "", want: []string{"file is empty"}},
		{name: "blank lines only", in: "\r\n  \n\t\n", want: []string{"file is empty"}},
		{name: "BOM only", in: "\xEF\xBB\xBF", want: []string{"file is empty"}},
		{name: "sep= line only", in: "sep=;\n", want: []string{"file is empty"}},
		{name: "NUL bytes", in: hdr + "0421,E017\x00", want: []string{"file is not text (it contains NUL bytes)"}},
		{name: "xlsx workbook", in: "PK\x03\x04\x14\x00", want: []string{"file is an Excel workbook, not CSV text: save it as CSV"}},
		{name: "xls workbook", in: "\xD0\xCF\x11\xE0\xA1\xB1", want: []string{"file is an Excel workbook, not CSV text: save it as CSV"}},
		{name: "UTF-16", in: "\xFF\xFEl\x00o\x00", want: []string{"file is UTF-16 text: save it as CSV UTF-8"}},
		{name: "size limit", in: hdr, opts: func(o *Options) { o.MaxSize = 20 }, want: []string{"file exceeds the size limit of 20 bytes"}},
		{name: "classic Mac line ends", in: strings.ReplaceAll(hdr+"0421,E017,,2026-11-20,08:58,17:04,,30\n", "\n", "\r"),
			want: []string{"line 1: lines end with a lone carriage return (classic Mac format): save the file with Windows (CRLF) or Unix (LF) line breaks"}},
		{name: "no header row", in: "0421,E017,,2026-11-20,08:58,17:04,,30\n",
			want: []string{"line 1: no header row: the first line must name the columns (location_id, employee_id, date, clock_in, clock_out, hours, break_minutes)"}},
		{name: "header after blank lines", in: "\n\n0421,E017\n",
			want: []string{"line 3: no header row: the first line must name the columns (location_id, employee_id, date, clock_in, clock_out, hours, break_minutes)"}},
		{name: "required columns missing", in: "name,date,clock_out\n",
			want: []string{
				"line 1: location_id: required column is missing",
				"line 1: employee_id: required column is missing",
				"line 1: clock_in: required column is missing (give clock_in, or hours and date)"}},
		{name: "duplicated columns", in: "location_id,Store,employee_id,Entrée,in\n",
			want: []string{
				`line 1: location_id: the column appears twice ("location_id" and "Store")`,
				`line 1: clock_in: the column appears twice ("Entrée" and "in")`}},
		{name: "header not valid CSV", in: "location_id,employee_id,date,\"clock_in\"x\n",
			want: []string{`line 1: the header row is not valid CSV: extraneous or missing " in quoted-field`}},
		{name: "missing employee_id and location_id", in: hdr + ",,,2026-11-20,08:58,17:04,,30\n",
			want: []string{"line 2: location_id: missing", "line 2: employee_id: missing"}},
		{name: "unknown location", in: hdr + "0499,E017,,2026-11-20,08:58,17:04,,30\n421,E017,,2026-11-20,08:58,17:04,,30\n",
			want: []string{
				`line 2: location_id: unknown location "0499" (this agent serves 0421, 0422)`,
				`line 3: location_id: unknown location "421" (this agent serves 0421, 0422; did a spreadsheet drop the leading zeros of 0421?)`}},
		{name: "an agent without locations", in: hdr + "0421,E017,,2026-11-20,08:58,17:04,,30\n",
			opts: func(o *Options) { o.Locations = nil },
			want: []string{`line 2: location_id: unknown location "0421" (this agent serves no location: check its configuration)`}},
		{name: "another location than the bound one", in: hdr + "0422,E017,,2026-11-20,08:58,17:04,,30\n",
			opts: func(o *Options) { o.BoundLocation = "0421" },
			want: []string{`line 2: location_id: "0422" is not the location of this FTP user (0421)`}},
		{name: "unparsable dates", in: hdr +
			"0421,E017,,31/02/2026,08:58,17:04,,\n0421,E017,,2026-2-30,08:58,17:04,,\n0421,E017,,11/20/2026,08:58,17:04,,\n0421,E017,,20.11.2026,08:58,17:04,,\n0421,E017,,3000-01-01,08:58,17:04,,\n",
			want: []string{
				`line 2: date: "31/02/2026" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`,
				`line 3: date: "2026-2-30" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`,
				`line 4: date: "11/20/2026" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`,
				`line 5: date: "20.11.2026" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`,
				`line 6: date: "3000-01-01" is out of range (years 1970 to 2999)`}},
		{name: "unparsable date in MM/DD/YYYY", in: hdr + "0421,E017,,20/11/2026,08:58,17:04,,\n",
			opts: func(o *Options) { o.DateOrder = MDY },
			want: []string{`line 2: date: "20/11/2026" is not a date (use YYYY-MM-DD or MM/DD/YYYY)`}},
		{name: "unparsable times", in: hdr +
			"0421,E017,,2026-11-20,8h58,17:04,,\n0421,E017,,2026-11-20,24:00,17:60,,\n0421,E017,,2026-11-20,2026-11-20 08:58+5,9:5,,\n0421,E017,,,0001-01-01T00:00:00Z,,,\n",
			want: []string{
				`line 2: clock_in: "8h58"` + notTime,
				`line 3: clock_in: "24:00"` + notTime,
				`line 3: clock_out: "17:60"` + notTime,
				`line 4: clock_in: "2026-11-20 08:58+5"` + notTime,
				`line 4: clock_out: "9:5"` + notTime,
				`line 5: clock_in: "0001-01-01T00:00:00Z" is out of range (years 1970 to 2999)`}},
		{name: "unparsable numbers", in: hdr +
			"0421,E017,,2026-11-20,,,sept,\n0421,E017,,2026-11-20,,,\"1,234.5\",30.5\n0421,E017,,2026-11-20,,,7.1234567890123456,3O\n",
			want: []string{
				`line 2: hours: "sept" is not a number of hours (use 7.5, 7,5 or 7:30)`,
				`line 3: hours: "1,234.5" is not a number of hours (use 7.5, 7,5 or 7:30)`,
				`line 3: break_minutes: "30.5" is not a whole number of minutes`,
				`line 4: hours: "7.1234567890123456" is not a number of hours (use 7.5, 7,5 or 7:30)`,
				`line 4: break_minutes: "3O" is not a whole number of minutes`}},
		{name: "negative hours and break", in: hdr + "0421,E017,,2026-11-20,,,-7.5,\n0421,E017,,2026-11-20,,,-0:30,-5\n",
			want: []string{`line 2: hours: "-7.5" is negative`, `line 3: hours: "-0:30" is negative`, `line 3: break_minutes: "-5" is negative`}},
		{name: "more than 24 hours", in: hdr +
			"0421,E017,,,2026-11-19 08:00,2026-11-20 08:00:01,,\n0421,E017,,2026-11-20,,,24.01,\n0421,E017,,2026-11-20,,,99999999,\n",
			want: []string{
				"line 2: clock_out: the shift lasts 24:00:01, more than 24 hours",
				`line 3: hours: "24.01" is more than 24 hours`,
				`line 4: hours: "99999999" is more than 24 hours`}},
		{name: "break longer than the shift", in: hdr +
			"0421,E017,,2026-11-20,09:00,10:00,,61\n0421,E017,,2026-11-20,,,1:00,61\n0421,E017,,2026-11-20,09:00,10:00,,99999999\n",
			want: []string{
				"line 2: break_minutes: a 61-minute break is longer than the 1:00 shift",
				"line 3: break_minutes: a 61-minute break is longer than the 1:00 hours worked",
				"line 4: break_minutes: a 1441-minute break is longer than the 1:00 shift"}},
		{name: "more than 1 day in the future", in: hdr +
			"0421,E017,,2026-11-22,07:01,,,\n0421,E017,,2026-11-23,,,8,\n0421,E017,,,2026-11-22T12:00:01Z,,,\n",
			want: []string{
				"line 2: clock_in: 2026-11-22T07:01 is more than 1 day in the future",
				"line 3: date: 2026-11-23 is more than 1 day in the future",
				"line 4: clock_in: 2026-11-22T07:00 is more than 1 day in the future"}},
		{name: "skipped hour when the clocks go forward", in: hdr +
			"0421,E017,,2026-03-08,02:00,10:00,,\n0421,E017,,2026-03-07,21:00,02:59,,\n0421,E017,,,2026-03-08 02:30,2026-03-08 09:00,,\n",
			want: []string{
				"line 2: clock_in: 02:00 does not exist on 2026-03-08 in America/Toronto (the clocks skip that hour)",
				"line 3: clock_out: 02:59 does not exist on 2026-03-08 in America/Toronto (the clocks skip that hour)",
				"line 4: clock_in: 02:30 does not exist on 2026-03-08 in America/Toronto (the clocks skip that hour)"}},
		{name: "missing clock_in, date", in: hdr +
			"0421,E017,,2026-11-20,,,,\n0421,E017,,2026-11-20,,17:00,,\n0421,E017,,,08:58,17:04,,\n0421,E017,,,,,7.5,\n",
			want: []string{
				"line 2: clock_in: missing (give clock_in, or hours and a date)",
				"line 3: clock_in: missing (clock_out is given)",
				`line 4: date: missing (clock_in "08:58" has no date)`,
				"line 5: date: missing (a row with hours but no clock_in needs a date)"}},
		{name: "clock_out before clock_in", in: hdr + "0421,E017,,,2026-11-20 09:00,2026-11-20T08:59,,\n",
			want: []string{"line 2: clock_out: 2026-11-20T08:59 is before clock_in 2026-11-20T09:00"}},
		{name: "every problem of a row, in column order", in: hdr + "0499,,,20/13/2026,8h,9h,x,y\n",
			want: []string{
				`line 2: location_id: unknown location "0499" (this agent serves 0421, 0422)`,
				"line 2: employee_id: missing",
				`line 2: date: "20/13/2026" is not a date (use YYYY-MM-DD or DD/MM/YYYY)`,
				`line 2: clock_in: "8h"` + notTime,
				`line 2: clock_out: "9h"` + notTime,
				`line 2: hours: "x" is not a number of hours (use 7.5, 7,5 or 7:30)`,
				`line 2: break_minutes: "y" is not a whole number of minutes`}},
		{name: "line numbers are where a row starts", in: hdr +
			"0421,E017,\"a\nb\nc\",2026-11-20,08:58,17:04,,\n\n0421,E017,,2026-11-20,25:00,17:04,,\n",
			want: []string{`line 6: clock_in: "25:00"` + notTime}},
		{name: "bare quote", in: hdr + "0421,E017,Helen \"Nell\" Dube,2026-11-20,08:58,17:04,,\n",
			want: []string{`line 2: a " inside a field that does not start with a quote: put the whole field in quotes and double the " inside it`}},
		{name: "text after a closing quote", in: hdr + "0421,E017,\"Helen\" Dube,2026-11-20,08:58,17:04,,\n0421,E018,,2026-11-20,08:58,17:04,,\n",
			want: []string{"line 2: a quoted field has text after its closing quote"}},
		{name: "unterminated quote at the end of the file", in: hdr + "0421,E017,,2026-11-20,08:58,17:04,,\n0421,E018,\"Mark\nRoy,2026-11-20,09:00",
			want: []string{"line 3: a quoted field is never closed: the file ends inside it (was the upload cut off?)"}},
		{name: "too few fields in the middle", in: hdr + "0421,E017,,2026-11-20,08:58\n0421,E017,,2026-11-20,08:58,17:04,,\n",
			want: []string{"line 2: row has 5 fields, the header has 8"}},
		{name: "too few fields on a cut last line", in: hdr + "0421,E017,,2026-11-20,08:58,17:04,,\n0421,E018,,2026-11-20,08:5",
			want: []string{"line 3: row has 5 fields, the header has 8 (the file ends in the middle of this row: was the upload cut off?)"}},
		{name: "too many fields", in: "location_id;employee_id;date;hours\n0421;E017;20/11/2026;7;5;x\n",
			want: []string{`line 2: row has 6 fields, the header has 4 (put values that contain ";" in quotes)`}},
		{name: "unquoted decimal comma in a comma file", in: "location_id,employee_id,date,hours\n0421,E017,2026-11-20,7,5\n",
			want: []string{`line 2: row has 5 fields, the header has 4 (put values that contain "," in quotes)`}},
		{name: "a line too long to be a header", in: strings.Repeat("x", bufSize+10),
			want: []string{"line 1 is longer than 65536 bytes: this is not a staff-hours CSV file"}},
		{name: "a row too long", in: hdr + "0421,E017,\"" + strings.Repeat("x\n", bufSize+maxRowBytes) + "\",2026-11-20,08:58,17:04,,\n",
			want: []string{"the row after line 1 is longer than 65536 bytes (a quote that is never closed?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := baseOptions(t)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			recs, got, _ := run(t, tc.in, opts)
			if recs != nil {
				t.Fatalf("got records %q, want a refusal", recs)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("got other problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefusalReport(t *testing.T) {
	var b strings.Builder
	b.WriteString("location_id,employee_id,date,clock_in\n0421,E017,2026-11-20,08:58\n")
	for i := range 5 {
		fmt.Fprintf(&b, "0421,E%d,2026-11-20,nine\n", i)
	}
	opts := baseOptions(t)
	opts.MaxReportedLines = 2
	_, err := Import(strings.NewReader(b.String()), opts, 0, func(record.Record) error { return nil })
	var ref *Refusal
	if !errors.As(err, &ref) {
		t.Fatalf("got %v, want a *Refusal", err)
	}
	notTime := ` is not a time (use HH:MM, HH:MM:SS, YYYY-MM-DD HH:MM or RFC 3339)`
	want := &Refusal{
		Problems: []Problem{
			{Line: 3, Column: "clock_in", Reason: `"nine"` + notTime},
			{Line: 4, Column: "clock_in", Reason: `"nine"` + notTime},
		},
		More:     3,
		BadLines: 5,
	}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("got another refusal (-want +got):\n%s", diff)
	}
	if got, want := ref.Error(), `5 bad lines: line 3: clock_in: "nine"`+notTime; got != want {
		t.Errorf("got Error() %q, want %q", got, want)
	}
	wantReport := "shifts.csv was refused: nothing in it was imported (5 bad lines). Correct the problems below and upload the whole file again.\n" +
		`line 3: clock_in: "nine"` + notTime + "\n" +
		`line 4: clock_in: "nine"` + notTime + "\n" +
		"… and 3 more bad lines\n"
	if diff := cmp.Diff(wantReport, ref.Report("shifts.csv")); diff != "" {
		t.Errorf("got another report (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		ref  *Refusal
		want string
	}{
		{fileRefusal("file is empty"), "file is empty"},
		{&Refusal{Problems: []Problem{{Line: 2, Reason: "row has 5 fields, the header has 8"}}, BadLines: 1}, "1 bad line: line 2: row has 5 fields, the header has 8"},
		{&Refusal{Problems: []Problem{{Line: 2, Column: "hours", Reason: "x"}}, BadLines: 2, More: 1}, "2 bad lines: line 2: hours: x"},
	} {
		if got := tc.ref.Error(); got != tc.want {
			t.Errorf("got Error() %q, want %q", got, tc.want)
		}
	}
	one := &Refusal{Problems: []Problem{{Line: 2, Column: "hours", Reason: "x"}}, BadLines: 2, More: 1}
	if got, want := one.Report("a.csv"), "a.csv was refused: nothing in it was imported (2 bad lines). Correct the problems below and upload the whole file again.\nline 2: hours: x\n… and 1 more bad line\n"; got != want {
		t.Errorf("got report %q, want %q", got, want)
	}
}

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Summary
	}{
		{"comma UTF-8", "location_id,employee_id,date,clock_in\n0422,P1,2026-11-20,09:00\n\n0421,E1,2026-11-20,09:00\n0422,P2,2026-11-20,09:00\n",
			Summary{Rows: 3, Records: 3, Encoding: EncodingUTF8, Delimiter: ',', Locations: []string{"0421", "0422"}}},
		{"semicolon BOM", "\xEF\xBB\xBFlocation_id;employee_id;date;clock_in\n0421;E1;20/11/2026;09:00\n",
			Summary{Rows: 1, Records: 1, Encoding: EncodingUTF8BOM, Delimiter: ';', Locations: []string{"0421"}}},
		{"tab Windows-1252", "location_id\temployee_id\tnom\tdate\tclock_in\n0421\tE1\tH\xe9l\xe8ne\t20/11/2026\t09:00\n",
			Summary{Rows: 1, Records: 1, Encoding: EncodingWindows1252, Delimiter: '\t', Locations: []string{"0421"}}},
		{"header only", "employee_id;date;clock_in;location_id\n",
			Summary{Encoding: EncodingUTF8, Delimiter: ';', Locations: []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Import(strings.NewReader(tc.in), baseOptions(t), 0, func(record.Record) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("got another summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImportSkipResumes(t *testing.T) {
	in := "location_id,employee_id,date,clock_in\n0421,E1,2026-11-20,09:00\n\n0421,E2,2026-11-20,09:00\n0421,E3,2026-11-20,09:00\n"
	for _, tc := range []struct {
		skip int
		want []string
	}{
		{0, []string{"csv:0421:E1:2026-11-20T09:00", "csv:0421:E2:2026-11-20T09:00", "csv:0421:E3:2026-11-20T09:00"}},
		{2, []string{"csv:0421:E3:2026-11-20T09:00"}},
		{3, nil},
		{7, nil},
	} {
		t.Run(fmt.Sprint(tc.skip), func(t *testing.T) {
			var got []string
			sum, err := Import(strings.NewReader(in), baseOptions(t), tc.skip, func(r record.Record) error {
				got = append(got, r.Key)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("got other keys (-want +got):\n%s", diff)
			}
			if sum.Rows != 3 || sum.Records != len(tc.want) {
				t.Errorf("got %d rows, %d records, want 3 rows, %d records", sum.Rows, sum.Records, len(tc.want))
			}
		})
	}
}

func TestImportEmitError(t *testing.T) {
	in := "location_id,employee_id,date,clock_in\n0421,E1,2026-11-20,09:00\n0421,E2,2026-11-20,09:00\n"
	stop := errors.New("buffer full")
	n := 0
	sum, err := Import(strings.NewReader(in), baseOptions(t), 0, func(record.Record) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || err.Error() != "staffcsv: emit line 2: buffer full" {
		t.Errorf("got error %v, want %q wrapping the emit error", err, "staffcsv: emit line 2: buffer full")
	}
	if n != 1 || sum.Records != 0 {
		t.Errorf("got %d emit calls and %d records, want 1 and 0", n, sum.Records)
	}
}

func TestImportOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(*Options)
		skip int
		want string
	}{
		{"date order", func(o *Options) { o.DateOrder = "ymd" }, 0, `staffcsv options: date order "ymd" is not dmy or mdy`},
		{"bound location", func(o *Options) { o.BoundLocation = "9999" }, 0, `staffcsv options: bound location "9999" is not one of the agent's locations`},
		{"max size", func(o *Options) { o.MaxSize = -1 }, 0, `staffcsv options: max size -1 is negative`},
		{"max reported lines", func(o *Options) { o.MaxReportedLines = -1 }, 0, `staffcsv options: max reported lines -1 is negative`},
		{"skip", nil, -1, "staffcsv: skip -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := baseOptions(t)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Import(strings.NewReader("x"), opts, tc.skip, func(record.Record) error { return nil })
			if err == nil || err.Error() != tc.want {
				t.Errorf("got error %v, want %q", err, tc.want)
			}
		})
	}
}

// flipReader serves one content on the first reading and another after a
// rewind, like a file rewritten between the two passes.
type flipReader struct {
	first, second string
	r             *strings.Reader
	rewinds       int
}

func (f *flipReader) Read(p []byte) (int, error) { return f.r.Read(p) }
func (f *flipReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart {
		f.rewinds++
		if f.rewinds > 1 {
			f.r = strings.NewReader(f.second)
		}
	}
	return f.r.Seek(off, whence)
}

func TestImportFileChanged(t *testing.T) {
	hdr := "location_id,employee_id,date,clock_in\n"
	good := hdr + "0421,E1,2026-11-20,09:00\n"
	for _, tc := range []struct {
		name, second, want string
	}{
		{"a bad row", hdr + "0421,E1,2026-11-20,9h\n", `staffcsv: the file changed between its two readings: line 2: clock_in: "9h" is not a time (use HH:MM, HH:MM:SS, YYYY-MM-DD HH:MM or RFC 3339)`},
		{"more rows", good + "0421,E2,2026-11-20,09:00\n", "staffcsv: the file changed between its two readings: 2 rows instead of 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flipReader{first: good, second: tc.second, r: strings.NewReader(good)}
			_, err := Import(f, baseOptions(t), 0, func(record.Record) error { return nil })
			if err == nil || err.Error() != tc.want {
				t.Errorf("got error %v, want %q", err, tc.want)
			}
		})
	}
}

// errReader fails after its content.
type errReader struct{ r *strings.Reader }

var errDisk = errors.New("disk error")

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errDisk
	}
	return n, err
}
func (e errReader) Seek(off int64, whence int) (int64, error) { return e.r.Seek(off, whence) }

func TestImportReadError(t *testing.T) {
	_, err := Import(errReader{strings.NewReader("location_id,employee_id,date,clock_in\n")}, baseOptions(t), 0,
		func(record.Record) error { return nil })
	if !errors.Is(err, errDisk) || err.Error() != "staffcsv: read: disk error" {
		t.Errorf("got %v, want staffcsv: read: disk error", err)
	}
}

// oneByte reads one byte at a time, to cut every UTF-8 sequence and every
// row at every possible place.
type oneByte struct{ *bytes.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.Reader.Read(p)
}

// TestLateWindows1252 covers files whose first 64 KiB are ASCII: the
// encoding is only known at the end of pass 1.
func TestLateWindows1252(t *testing.T) {
	filler := strings.Repeat("0421,E000,,2026-11-20,09:00,17:00\n", bufSize/30)
	hdr := "location_id,employee_id,employee_name,date,clock_in,clock_out\n"
	for _, tc := range []struct {
		name    string
		in      string
		enc     string
		last    string // the key and name of the last record
		refused []string
	}{
		{"late name only", hdr + filler + "0421,E017,H\xe9l\xe8ne,2026-11-20,09:00,17:00\n", EncodingWindows1252, "csv:0421:E017:2026-11-20T09:00 Hélène", nil},
		{"late UTF-8 name", hdr + filler + "0421,E017,Hélène,2026-11-20,09:00,17:00\n", EncodingUTF8, "csv:0421:E017:2026-11-20T09:00 Hélène", nil},
		{"late checked field", hdr + filler + "0421,\xc9017,H\xe9l\xe8ne,2026-11-20,09:00,17:00\n", EncodingWindows1252, "csv:0421:É017:2026-11-20T09:00 Hélène", nil},
		{"late non-breaking space in a checked field", hdr + filler + "0421,\xa0,,2026-11-20,09:00,17:00\n", "", "",
			[]string{fmt.Sprintf("line %d: employee_id: missing", 2+bufSize/30)}},
		{"header with UTF-8 accents, late Windows-1252", "location_id,employee_id,Entrée,date\n" +
			strings.Repeat("0421,E000,09:00,2026-11-20\n", bufSize/20) + "0421,E017,09:00,2026-11-20,H\xe9l\xe8ne\n", "", "",
			[]string{"line 1: clock_in: required column is missing (give clock_in, or hours and date)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, reader := range []struct {
				name string
				r    func() io.ReadSeeker
			}{
				{"whole reads", func() io.ReadSeeker { return strings.NewReader(tc.in) }},
				{"one byte reads", func() io.ReadSeeker { return oneByte{bytes.NewReader([]byte(tc.in))} }},
			} {
				var last string
				sum, err := Import(reader.r(), baseOptions(t), 0, func(r record.Record) error {
					last = r.Key + " " + r.EmployeeName
					return nil
				})
				var ref *Refusal
				if errors.As(err, &ref) {
					var got []string
					for _, p := range ref.Problems {
						got = append(got, p.String())
					}
					if diff := cmp.Diff(tc.refused, got); diff != "" {
						t.Errorf("%s: got other problems (-want +got):\n%s", reader.name, diff)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", reader.name, err)
				}
				if tc.refused != nil {
					t.Errorf("%s: got no refusal, want %q", reader.name, tc.refused)
				}
				if sum.Encoding != tc.enc || last != tc.last {
					t.Errorf("%s: got %s and last record %q, want %s and %q", reader.name, sum.Encoding, last, tc.enc, tc.last)
				}
			}
		})
	}
}

// TestOneByteReads checks that every sample file gives the same outcome when
// the reader returns one byte at a time.
func TestOneByteReads(t *testing.T) {
	files, _ := filepathGlob(t)
	for _, file := range files {
		name, data := file.name, file.data
		t.Run(name, func(t *testing.T) {
			opts := sampleOptions(t, name)
			want, _ := outcome(t, name, data, opts)
			var got bytes.Buffer
			_, err := Import(oneByte{bytes.NewReader(data)}, opts, 0, func(r record.Record) error {
				line, _ := r.MarshalLine()
				got.Write(line)
				got.WriteByte('\n')
				return nil
			})
			var ref *Refusal
			if errors.As(err, &ref) {
				got.WriteString(ref.Report(name))
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got.String()); diff != "" {
				t.Errorf("got another outcome one byte at a time (-whole +bytes):\n%s", diff)
			}
		})
	}
}

// shortSeeker reports a size of 0 for SeekEnd, like a file still growing when
// it is measured: the size limit must then hold while reading.
type shortSeeker struct{ *strings.Reader }

func (s shortSeeker) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd {
		return 0, nil
	}
	return s.Reader.Seek(off, whence)
}

// TestLateFileProblems covers problems of the whole file found after the
// first 64 KiB, while rows are being read.
func TestLateFileProblems(t *testing.T) {
	hdr := "location_id,employee_id,date,clock_in,clock_out\n"
	filler := strings.Repeat("0421,E000,2026-11-20,09:00,17:00\n", 2*bufSize/33)
	for _, tc := range []struct {
		name string
		r    io.ReadSeeker
		max  int64
		want string
	}{
		{"NUL byte", strings.NewReader(hdr + filler + "0421,E\x00,2026-11-20,09:00,17:00\n"), 0, "file is not text (it contains NUL bytes)"},
		{"size limit", shortSeeker{strings.NewReader(hdr + filler)}, bufSize + 100, fmt.Sprintf("file exceeds the size limit of %d bytes", bufSize+100)},
		{"size limit in the first 64 KiB", shortSeeker{strings.NewReader(hdr + filler)}, 100, "file exceeds the size limit of 100 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := baseOptions(t)
			opts.MaxSize = tc.max
			n := 0
			_, err := Import(tc.r, opts, 0, func(record.Record) error { n++; return nil })
			var ref *Refusal
			if !errors.As(err, &ref) || n != 0 {
				t.Fatalf("got %v and %d records, want a refusal", err, n)
			}
			want := &Refusal{Problems: []Problem{{Reason: tc.want}}}
			if diff := cmp.Diff(want, ref); diff != "" {
				t.Errorf("got another refusal (-want +got):\n%s", diff)
			}
		})
	}
}
