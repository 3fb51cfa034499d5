//go:build !windows

package config

// DefaultDataDir is where the agent keeps its data unless agent.data_dir says otherwise.
func DefaultDataDir() string { return "/var/lib/storeagent" }

// DefaultPath is the configuration file read when --config is not given.
func DefaultPath() string { return "/etc/storeagent/config.yaml" }
