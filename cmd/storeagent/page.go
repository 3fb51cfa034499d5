package main

import (
	"log/slog"
	"net/http"

	"github.com/tmas/storeagent/agent"
	"github.com/tmas/storeagent/agent/statuspage"
)

// registerPage adds the status page and metrics to the status server.
func registerPage(mux *http.ServeMux, a *agent.Agent, logger *slog.Logger) {
	statuspage.Register(mux, a, logger)
}
