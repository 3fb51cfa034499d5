package ftpd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCounters: logins, failed logins, bans and uploads by outcome, as the
// agent's /metrics will read them.
func TestCounters(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Defender.Threshold, c.Defender.LoginFailurePoints = 6, 3 // banned at the 2nd failure
	})
	for range 2 {
		c, err := ts.dial(t, from("127.0.0.2"))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Login(testUser, "wrong-password")
	}
	ts.inbox.will("bad.csv", refuse)
	ts.inbox.will("full.csv", full)
	ts.inbox.will("flaky.csv", transient)
	c := ts.login(t)
	for _, name := range []string{"ok.csv", "ok2.csv", "bad.csv", "full.csv", "flaky.csv", "notes.txt"} {
		_ = c.Stor(name, strings.NewReader(shiftsCSV))
	}
	want := Counters{Logins: 1, FailedLogins: 2, Bans: 1, UploadsAccepted: 2, UploadsRefused: 1, UploadsFailed: 2, UploadsFull: 1}
	if diff := cmp.Diff(want, ts.Counters()); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}
