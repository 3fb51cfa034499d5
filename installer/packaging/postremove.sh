#!/bin/sh
# storeagent package: after removal. Lets systemd forget the unit.
#
# remove (deb "remove", rpm $1 = 0): the configuration, data and logs stay.
# purge (deb only): deletes what the package and its service made and what
# the sample configuration asks for in /etc/storeagent (the token and secret
# files it names, the environment file), the logs, then /etc/storeagent if
# nothing else is left in it. /var/lib/storeagent may hold records not yet
# delivered: it is kept unless empty, and with it the storeagent user that
# owns it; nothing else is touched.
set -e

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload || true
fi
case "$1" in
purge)
	for f in upstream.token environment ftp.crt ftp.key tmas-ca.pem shopify.secret vend.token; do
		rm -f "/etc/storeagent/$f"
	done
	rm -f /etc/storeagent/config.yaml.dpkg-old /etc/storeagent/config.yaml.dpkg-dist /etc/storeagent/config.yaml.dpkg-new
	if [ -d /etc/storeagent ] && ! rmdir /etc/storeagent 2>/dev/null; then
		echo "storeagent: kept /etc/storeagent: it holds files the package did not put there"
	fi
	rm -rf /var/log/storeagent
	if [ -d /var/lib/storeagent ] && ! rmdir /var/lib/storeagent 2>/dev/null; then
		echo "storeagent: kept /var/lib/storeagent (it may hold records not yet delivered) and the user storeagent that owns it: once headquarters has every record, delete them with: rm -rf /var/lib/storeagent && userdel storeagent"
	elif getent passwd storeagent >/dev/null 2>&1; then
		userdel storeagent >/dev/null 2>&1 || true
		if getent group storeagent >/dev/null 2>&1; then groupdel storeagent >/dev/null 2>&1 || true; fi
	fi
	;;
remove | 0)
	if [ -d /var/lib/storeagent ]; then
		echo "storeagent: kept /etc/storeagent, /var/lib/storeagent and /var/log/storeagent (dpkg --purge deletes the configuration and logs; the data stays until you delete it once headquarters has every record)"
	fi
	;;
esac
exit 0
