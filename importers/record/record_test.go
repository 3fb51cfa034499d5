package record

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMoneyJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"12.5"`, `"12.50"`},
		{`12.5`, `"12.50"`},
		{`"-3"`, `"-3.00"`},
		{`"0.125"`, `"0.125"`},
		{`20.6611600000`, `"20.6611600000"`},
		{`null`, `"0.00"`},
	} {
		var m Money
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil {
			t.Fatalf("unmarshal %s: %v", tc.in, err)
		}
		got, _ := json.Marshal(m)
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
	var m Money
	if err := json.Unmarshal([]byte(`"abc"`), &m); err == nil {
		t.Errorf("got no error for a non-number")
	}
}

func TestRecordLine(t *testing.T) {
	toronto, _ := time.LoadLocation("America/Toronto")
	in := time.Date(2026, 11, 20, 9, 0, 0, 0, toronto)
	r := Record{
		Type: TypeShift, Key: "csv:0421:E017:2026-11-20T09:00", Rev: 1, Source: SourceCSV,
		LocationID: "0421", ObservedAt: time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC),
		Shift: &Shift{EmployeeID: "E017", ClockIn: in, Hours: MustMoney("7.5")},
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := r.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"shift","key":"csv:0421:E017:2026-11-20T09:00","rev":1,"source":"csv","location_id":"0421","observed_at":"2026-11-20T18:00:00Z","employee_id":"E017","clock_in":"2026-11-20T09:00:00-05:00","clock_out":null,"hours":"7.50"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	bad := Record{Type: TypeTransaction, Key: "k", Source: "shopify", LocationID: "1", Transaction: &Transaction{Kind: "refund"}}
	if err := bad.Validate(); err == nil || err.Error() != `record k: kind "refund" is not sale, return or void; occurred_at is missing; currency "" is not an ISO 4217 code` {
		t.Errorf("got %v", err)
	}
}

func TestUnits(t *testing.T) {
	for in, want := range map[string]time.Duration{"48h": 48 * time.Hour, "7d": 168 * time.Hour, "90s": 90 * time.Second} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || d.D() != want {
			t.Errorf("%s: got %v %v, want %v", in, d, err, want)
		}
	}
	for in, want := range map[string]Size{"2GB": 2e9, "50MB": 50e6, "512KiB": 512 << 10, "1048576": 1 << 20, "1.5 MiB": 3 << 19} {
		var z Size
		if err := z.UnmarshalText([]byte(in)); err != nil || z != want {
			t.Errorf("%s: got %v %v, want %v", in, z, err, want)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("soon")); err == nil || err.Error() != `"soon" is not a duration (use 90s, 15m, 48h or 7d)` {
		t.Errorf("got %v", err)
	}
}

func TestMoneyString(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0.00", "-0": "0.00", "5": "5.00", "-3": "-3.00", "12.5": "12.50", "0.05": "0.05", "-0.05": "-0.05",
		"0.001": "0.001", "-0.0100000000": "-0.0100000000", "1e3": "1000.00", "123456789.123": "123456789.123",
		"0.50": "0.50", "99999999999999999999.5": "99999999999999999999.50",
	} {
		if got := MustMoney(in).String(); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}
