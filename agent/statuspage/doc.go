// Package statuspage serves the store agent's local, read-only operator
// surfaces: the HTML status page at / (every fact of agent.Status, readable on
// a phone, refreshing itself every 15 seconds, without JavaScript or external
// assets) and the Prometheus exposition at /metrics, read from the same
// snapshot at scrape time through a private registry.
//
// It must never change the agent's state (it only calls Status), never use
// Prometheus's global registry or any package-level state, never write text
// that came from outside (file names, error texts, POS answers) unescaped into
// the page, and never show a secret: it renders agent.Status and nothing else.
package statuspage
