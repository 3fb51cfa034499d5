#!/bin/sh
# storeagent package: after removal. Lets systemd forget the unit. The data
# and logs stay: /var/lib/storeagent may hold records not yet delivered;
# delete it by hand once headquarters has everything.
set -e

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
fi
case "$1" in
remove | purge | 0)
	if [ -d /var/lib/storeagent ]; then
		echo "storeagent: kept /var/lib/storeagent and /var/log/storeagent (delete them once headquarters has every record)"
	fi
	;;
esac
exit 0
