// Package installer puts the store agent on a machine as a system service and
// runs it under the service manager: systemd on Linux, the Service Control
// Manager on Windows, both through github.com/kardianos/service.
//
// It knows the default paths of each platform (DefaultPaths), the service
// definition (ServiceConfig, SystemdUnit), the idempotent control verbs behind
// `storeagent install|uninstall|start|stop|restart` (Control), and the bridge
// between the service manager and the agent's Run(ctx) (RunService).
//
// The service runs unprivileged: on Linux as the system user storeagent
// (LinuxUser, created by install and by the packages) under a hardened unit,
// on Windows as its virtual account NT SERVICE\storeagent (WindowsAccount).
// Install gives that account the data and log folders and read access to
// the configuration, and undoes a half-done Windows registration.
//
// It must never import the agent, its buffer or any importer: the agent is a
// Runner handed in by cmd. It must never call os.Exit, never start the service
// after a fresh install (an unconfigured agent would only fail), never delete
// the agent's data unless asked to purge, and never log or print a secret.
package installer
