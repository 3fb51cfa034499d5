package ftpd

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

func TestCheckUploadName(t *testing.T) {
	for _, tc := range []struct {
		name, want string
	}{
		{"shifts.csv", ""},
		{"Shifts 2026-11-20 (Hélène).CSV", ""},
		{"nom;équipe.csv", ""},
		{"", "file name not allowed: the name is empty"},
		{"..", `file name not allowed: "." and ".." are not file names`},
		{"notes.txt", "file name not allowed: only .csv files are accepted"},
		{"shifts.csv.exe", "file name not allowed: only .csv files are accepted"},
		{"shifts", "file name not allowed: only .csv files are accepted"},
		{".csv", "file name not allowed: names starting with a dot are hidden"},
		{".hidden.csv", "file name not allowed: names starting with a dot are hidden"},
		{"x.csv.", "file name not allowed: names may not end with a dot or a space"},
		{"x.csv ", "file name not allowed: names may not end with a dot or a space"},
		{`..\..\x.csv`, `file name not allowed: names may not contain / or \ (upload into the top folder)`},
		{"a/b.csv", `file name not allowed: names may not contain / or \ (upload into the top folder)`},
		{"x.csv:zone.identifier", "file name not allowed: names may not contain ':' (alternate data streams)"},
		{"a\x00b.csv", "file name not allowed: names may not contain control characters"},
		{"a\tb.csv", "file name not allowed: names may not contain control characters"},
		{"a\u0085b.csv", "file name not allowed: names may not contain control characters"},
		{"a\xffb.csv", "file name not allowed: the name is not valid UTF-8"},
		{"what?.csv", `file name not allowed: names may not contain < > " | ? or *`},
		{"CON.csv", `file name not allowed: "CON" is a reserved device name on Windows`},
		{"con.csv", `file name not allowed: "con" is a reserved device name on Windows`},
		{"Nul.backup.csv", `file name not allowed: "Nul" is a reserved device name on Windows`},
		{"COM1.csv", `file name not allowed: "COM1" is a reserved device name on Windows`},
		{"lpt9.csv", `file name not allowed: "lpt9" is a reserved device name on Windows`},
		{"AUX .csv", `file name not allowed: "AUX " is a reserved device name on Windows`},
		{"COM10.csv", ""},
		{"console.csv", ""},
		{strings.Repeat("a", 196) + ".csv", ""},
		{strings.Repeat("a", 197) + ".csv", "file name not allowed: the name is longer than 200 bytes"},
	} {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			got := ""
			if err := checkUploadName(tc.name); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRefusalText(t *testing.T) {
	home := "/data/ftp/clock"
	for _, tc := range []struct {
		name string
		in   record.RefusedError
		want string
	}{
		{"lines", record.RefusedError{Name: "x.csv", Lines: 3, Report: home + "/rejected/x.csv.errors.txt", Reason: "line 2: date: bad"},
			"file refused: 3 bad lines, see rejected/x.csv.errors.txt (first: line 2: date: bad)"},
		{"one line", record.RefusedError{Name: "x.csv", Lines: 1, Report: home + "/rejected/x.csv.errors.txt"},
			"file refused: 1 bad line, see rejected/x.csv.errors.txt"},
		{"whole file", record.RefusedError{Name: "x.csv", Report: home + "/rejected/x.csv.errors.txt", Reason: "the file is empty"},
			"file refused: the file is empty, see rejected/x.csv.errors.txt"},
		{"report elsewhere", record.RefusedError{Name: "x.csv", Report: "/elsewhere/x.csv.errors.txt", Reason: "not text"},
			"file refused: not text, see x.csv.errors.txt"},
		{"no report", record.RefusedError{Name: "x.csv"}, "file refused: invalid content"},
		{"injection", record.RefusedError{Name: "x.csv", Lines: 2, Reason: "line 2: name: \"a\r\n230 fake\""},
			`file refused: 2 bad lines (first: line 2: name: "a  230 fake")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refusal(home, &tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPendingName(t *testing.T) {
	for _, tc := range []struct {
		name string
		i    int
		want string
	}{
		{"x.csv", 2, "x-2.csv"},
		{"a.b.csv", 10, "a.b-10.csv"},
		{strings.Repeat("é", 98) + ".csv", 2, strings.Repeat("é", 97) + "-2.csv"},
	} {
		got := pendingName(tc.name, tc.i)
		if got != tc.want || len(got) > maxNameLen {
			t.Errorf("pendingName(%q, %d): got %q (%d bytes), want %q", tc.name, tc.i, got, len(got), tc.want)
		}
	}
}

func validConfig() Config {
	return Config{
		HomeRoot: "/var/lib/storeagent/ftp",
		Users:    []User{{Name: "clock", PasswordHash: "$2a$04$ZBrpMjbhXX7ogF7bL6f2muWkzVeK6Y7y4YRUv9aZTwmzOlGs5Oa.6", Location: "0421"}},
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := validConfig()
	cfg.SetDefaults()
	want := validConfig()
	want.Listen, want.PassivePorts, want.TLS.Mode = ":2121", "50000-50100", "explicit"
	want.MaxFileSize = 50e6
	want.CertDir = filepath.FromSlash("/var/lib/storeagent/ftp/.tls") // \var\lib\storeagent\ftp\.tls on Windows
	want.MaxConnections, want.MaxConnectionsPerIP = 50, 8
	want.IdleTimeout, want.ConnectionTimeout = record.Duration(5*time.Minute), record.Duration(30*time.Second)
	want.Defender = DefenderConfig{Threshold: 15, LoginFailurePoints: 3, ObservationTime: record.Duration(30 * time.Minute),
		BanTime: record.Duration(30 * time.Minute), BanTimeGrowth: 2, FailureDelay: record.Duration(time.Second)}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("got %v, want no error", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"bad listen", func(c *Config) { c.Listen = "2121" }, `ftp.listen: "2121" is not host:port (use :2121 or 0.0.0.0:2121)`},
		{"bad port", func(c *Config) { c.Listen = ":99999" }, `ftp.listen: ":99999" has no valid port`},
		{"bad range", func(c *Config) { c.PassivePorts = "50100-50000" }, `ftp.passive_ports: "50100-50000": ports must be within 1024-65535, low first`},
		{"not a range", func(c *Config) { c.PassivePorts = "many" }, `ftp.passive_ports: "many" is not a port range (use 50000-50100)`},
		{"ipv6 public host", func(c *Config) { c.PublicHost = "::1" }, `ftp.public_host: "::1": passive mode needs an IPv4 address or a host name`},
		{"bad public host", func(c *Config) { c.PublicHost = "ftp_host!" }, `ftp.public_host: "ftp_host!" is neither an IPv4 address nor a host name`},
		{"tls mode", func(c *Config) { c.TLS.Mode = "on" }, `ftp.tls.mode: "on" is not off, explicit or implicit`},
		{"required without tls", func(c *Config) { c.TLS.Mode, c.TLS.Required = "off", true }, `ftp.tls.required: needs tls.mode explicit or implicit`},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "/etc/cert.pem" }, `ftp.tls: give both cert_file and key_file, or neither to use a generated certificate`},
		{"per ip over total", func(c *Config) { c.MaxConnections, c.MaxConnectionsPerIP = 4, 5 }, `ftp.max_connections_per_ip: 5 is more than max_connections (4)`},
		{"idle", func(c *Config) { c.IdleTimeout = record.Duration(time.Millisecond) }, `ftp.idle_timeout: must be at least 1s`},
		{"growth", func(c *Config) { c.Defender.BanTimeGrowth = 0.5 }, `ftp.defender.ban_time_growth: must be at least 1`},
		{"delay", func(c *Config) { c.Defender.FailureDelay = record.Duration(time.Hour) }, `ftp.defender.failure_delay: must be between 0 and 1m`},
		{"no users", func(c *Config) { c.Users = nil }, "ftp.users: no user: add one with `storeagent ftp passwd NAME`"},
		{"users", func(c *Config) {
			h := c.Users[0].PasswordHash
			c.Users = append(c.Users,
				User{Name: "CLOCK", PasswordHash: h},
				User{Name: "anonymous", PasswordHash: h},
				User{Name: "../x", PasswordHash: h},
				User{Name: "com1", PasswordHash: h},
				User{Name: "nohash"},
				User{Name: "plain", PasswordHash: "hunter2"},
				User{PasswordHash: h})
		}, strings.Join([]string{
			`ftp.users[1].name: "CLOCK" is already users[0] (names are compared without case)`,
			`ftp.users[2].name: "anonymous": anonymous logins are not allowed`,
			`ftp.users[3].name: "../x": use letters, digits, '.', '_' and '-' (at most 64, not a Windows device name)`,
			`ftp.users[4].name: "com1": use letters, digits, '.', '_' and '-' (at most 64, not a Windows device name)`,
			"ftp.users[5].password_hash: is empty: set it with `storeagent ftp passwd nohash`",
			"ftp.users[6].password_hash: is not a bcrypt hash: set it with `storeagent ftp passwd plain`",
			`ftp.users[7].name: is empty`,
		}, "\n")},
		{"several", func(c *Config) { c.HomeRoot, c.MaxFileSize = "", -1 }, "ftp.max_file_size: must be more than 0\nftp.home_root: is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.edit(&cfg)
			cfg.SetDefaults()
			err := cfg.Validate()
			if err == nil {
				t.Fatalf("got no error, want %q", tc.want)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	cfg := validConfig()
	cfg.Users[0].PasswordHash = h
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Errorf("a HashPassword hash: got %v, want valid", err)
	}
	if _, err := HashPassword(""); err == nil || err.Error() != "hash password: the password is empty" {
		t.Errorf("empty password: got %v", err)
	}
}

func TestDefender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDefender(DefenderConfig{Threshold: 15, LoginFailurePoints: 5, ObservationTime: record.Duration(10 * time.Minute),
			BanTime: record.Duration(30 * time.Minute), BanTimeGrowth: 2})
		a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
		failUntilBan := func(ip netip.Addr) (int, time.Duration) {
			for n := 1; n <= 100; n++ {
				if until, banned := d.fail(ip); banned {
					return n, time.Until(until)
				}
			}
			return 0, 0
		}
		type step struct {
			Failures int
			Ban      time.Duration
			BannedA  bool
			BannedB  bool
		}
		var got []step
		check := func(n int, ban time.Duration) {
			_, ba := d.banned(a)
			_, bb := d.banned(b)
			got = append(got, step{n, ban, ba, bb})
		}
		check(failUntilBan(a)) // 3 failures: banned 30m, b unaffected
		time.Sleep(30 * time.Minute)
		check(0, 0)            // ban over
		check(failUntilBan(a)) // a repeat: 60m
		time.Sleep(time.Hour)
		check(0, 0)
		// Failures spread beyond the observation time never add up.
		for range 5 {
			d.fail(b)
			time.Sleep(11 * time.Minute)
		}
		check(0, 0)
		time.Sleep(25 * time.Hour) // a day later, bans are forgiven
		check(failUntilBan(a))
		want := []step{
			{3, 30 * time.Minute, true, false},
			{0, 0, false, false},
			{3, time.Hour, true, false},
			{0, 0, false, false},
			{0, 0, false, false},
			{3, 30 * time.Minute, true, false},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("defender steps (-want +got):\n%s", diff)
		}
		if got, want := d.banLength(10), maxBan; got != want {
			t.Errorf("10th ban: got %v, want the cap %v", got, want)
		}
	})
}

func TestEventRing(t *testing.T) {
	r := newEventRing(3)
	for i := range 5 {
		r.add(Event{Kind: EventConnect, Size: int64(i)})
	}
	var got []int64
	for _, e := range r.list() {
		got = append(got, e.Size)
	}
	if diff := cmp.Diff([]int64{2, 3, 4}, got); diff != "" {
		t.Errorf("ring (-want +got):\n%s", diff)
	}
}
