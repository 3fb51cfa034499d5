#!/bin/sh
# storeagent package: after install or upgrade.
# Gives the folders to the service's user: /etc/storeagent and every file in
# it root:storeagent, readable by the service only (0750, 0640), the data
# and log folders storeagent's (an agent of a version that ran as root left
# its buffer root's); reloads systemd, restarts the agent on upgrade if it
# was running, and never starts an agent that has not been configured yet.
set -e

mkdir -p /etc/storeagent /var/lib/storeagent /var/log/storeagent
chown root:storeagent /etc/storeagent
chmod 0750 /etc/storeagent
find /etc/storeagent -mindepth 1 -maxdepth 1 -type f -exec chown root:storeagent {} + \
	-exec chmod g+r,g-wx,o-rwx {} +
for d in /var/lib/storeagent /var/log/storeagent; do
	chown -R storeagent:storeagent "$d"
	chmod 0750 "$d"
done

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
storeagent is installed but not started. It runs as the system user storeagent.
Next:
  1. edit /etc/storeagent/config.yaml (agent id, upstream, sources); put the
     upstream token in /etc/storeagent/upstream.token (root:storeagent 0640)
  2. check it:  storeagent doctor
  3. start it:  systemctl enable --now storeagent
MSG
exit 0
