package statuspage

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tmas/storeagent/ftpd"
)

func TestFTPCollector(t *testing.T) {
	n := ftpd.Counters{Logins: 7, FailedLogins: 3, Bans: 1, UploadsAccepted: 5, UploadsRefused: 2, UploadsFailed: 1}
	c := NewFTPCollector(func() ftpd.Counters { return n })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	want := `# HELP storeagent_ftp_bans_total Addresses banned for repeated failed logins since the agent started.
# TYPE storeagent_ftp_bans_total counter
storeagent_ftp_bans_total 1
# HELP storeagent_ftp_failed_logins_total FTP logins refused for a wrong user name or password since the agent started.
# TYPE storeagent_ftp_failed_logins_total counter
storeagent_ftp_failed_logins_total 3
# HELP storeagent_ftp_logins_total Successful FTP logins since the agent started.
# TYPE storeagent_ftp_logins_total counter
storeagent_ftp_logins_total 7
# HELP storeagent_ftp_uploads_total FTP uploads since the agent started, by outcome (accepted 226, refused for content, full 452, failed otherwise).
# TYPE storeagent_ftp_uploads_total counter
storeagent_ftp_uploads_total{outcome="accepted"} 5
storeagent_ftp_uploads_total{outcome="failed"} 1
storeagent_ftp_uploads_total{outcome="full"} 0
storeagent_ftp_uploads_total{outcome="refused"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
