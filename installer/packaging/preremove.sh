#!/bin/sh
# storeagent package: before removal. Stops and disables the service when
# the package is removed (deb: "remove"; rpm: $1 = 0), not on upgrade.
# The buffer in /var/lib/storeagent is kept: it may hold records not yet
# delivered to headquarters.
set -e

case "$1" in
remove | purge | 0)
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl stop storeagent.service >/dev/null 2>&1 || true
		systemctl disable storeagent.service >/dev/null 2>&1 || true
	fi
	;;
esac
exit 0
