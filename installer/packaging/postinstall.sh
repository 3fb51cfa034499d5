#!/bin/sh
# storeagent package: after install or upgrade.
# Makes sure the data and log folders exist with their permissions, reloads
# systemd, restarts the agent on upgrade if it was running, and never starts
# an agent that has not been configured yet.
set -e

for d in /etc/storeagent /var/lib/storeagent /var/log/storeagent; do
	mkdir -p "$d"
	chown root:root "$d"
	chmod 0750 "$d"
done
if [ -f /etc/storeagent/config.yaml ]; then
	chown root:root /etc/storeagent/config.yaml
	chmod g-wx,o-rwx /etc/storeagent/config.yaml
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
	# On upgrade, the running agent picks up the new binary.
	if systemctl is-active --quiet storeagent.service; then
		systemctl try-restart storeagent.service || true
		exit 0
	fi
fi

if systemctl is-enabled --quiet storeagent.service 2>/dev/null; then
	exit 0
fi
cat <<'MSG'
storeagent is installed but not started. Next:
  1. edit /etc/storeagent/config.yaml (agent id, upstream, sources)
  2. check it:  storeagent doctor
  3. start it:  systemctl enable --now storeagent
MSG
exit 0
