package main

import (
	"log/slog"
	"net/http"

	"github.com/tmas/storeagent/agent"
)

// registerPage adds the status page and metrics to the status server.
func registerPage(mux *http.ServeMux, a *agent.Agent, logger *slog.Logger) {}
