#!/bin/sh
# storeagent package: before install or upgrade. Creates the system user and
# group storeagent the service runs as (no login shell; home
# /var/lib/storeagent, which the package makes), so that the package's files
# can be given to it. An existing user is kept as it is.
set -e

if ! getent group storeagent >/dev/null 2>&1; then
	groupadd --system storeagent
fi
if ! getent passwd storeagent >/dev/null 2>&1; then
	useradd --system --gid storeagent --home-dir /var/lib/storeagent --no-create-home \
		--shell /usr/sbin/nologin --comment "TMAS store agent" storeagent
fi
exit 0
