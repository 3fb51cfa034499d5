package config

import (
	"os"
	"path/filepath"
)

// DefaultDataDir is where the agent keeps its data unless agent.data_dir says otherwise.
func DefaultDataDir() string {
	pd := os.Getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	return filepath.Join(pd, "StoreAgent", "data")
}

// DefaultPath is the configuration file read when --config is not given.
func DefaultPath() string {
	pd := os.Getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	return filepath.Join(pd, "StoreAgent", "config.yaml")
}
