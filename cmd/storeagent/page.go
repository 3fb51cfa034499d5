package main

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/statuspage"
	"github.com/tmas/storeagent/ftpd"
)

// registerPage adds the status page and metrics to the status server, with
// the FTP endpoint's counters when it runs.
func registerPage(mux *http.ServeMux, a *agent.Agent, logger *slog.Logger, ftp *ftpd.Server) {
	var extra []prometheus.Collector
	if ftp != nil {
		extra = append(extra, statuspage.NewFTPCollector(ftp.Counters))
	}
	statuspage.Register(mux, a, logger, extra...)
}
