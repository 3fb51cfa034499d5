package statuspage

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmas/storeagent/ftpd"
)

// FTPCollector exports the FTP endpoint's counters, read at each scrape.
type FTPCollector struct {
	counters                   func() ftpd.Counters
	logins, failedLogins, bans *prometheus.Desc
	uploads                    *prometheus.Desc
}

var _ prometheus.Collector = (*FTPCollector)(nil)

// NewFTPCollector reads counters (ftpd.Server.Counters) at every scrape.
func NewFTPCollector(counters func() ftpd.Counters) *FTPCollector {
	return &FTPCollector{
		counters:     counters,
		logins:       prometheus.NewDesc("storeagent_ftp_logins_total", "Successful FTP logins since the agent started.", nil, nil),
		failedLogins: prometheus.NewDesc("storeagent_ftp_failed_logins_total", "FTP logins refused for a wrong user name or password since the agent started.", nil, nil),
		bans:         prometheus.NewDesc("storeagent_ftp_bans_total", "Addresses banned for repeated failed logins since the agent started.", nil, nil),
		uploads:      prometheus.NewDesc("storeagent_ftp_uploads_total", "FTP uploads since the agent started, by outcome (accepted 226, refused for content, full 452, failed otherwise).", []string{"outcome"}, nil),
	}
}

// Describe sends every descriptor.
func (c *FTPCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.logins
	ch <- c.failedLogins
	ch <- c.bans
	ch <- c.uploads
}

// Collect reads the counters once and sends them.
func (c *FTPCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.counters()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.logins, n.Logins)
	counter(c.failedLogins, n.FailedLogins)
	counter(c.bans, n.Bans)
	counter(c.uploads, n.UploadsAccepted, "accepted")
	counter(c.uploads, n.UploadsRefused, "refused")
	counter(c.uploads, n.UploadsFull, "full")
	counter(c.uploads, n.UploadsFailed, "failed")
}
