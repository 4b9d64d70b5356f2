#!/bin/sh
# Installs the Debian packages pando's tests drive, when they are missing.
# As root it uses apt-get; otherwise it names what is missing and stops.
set -eu

# command -> Debian package
need="rsync:rsync curl:curl chromium:chromium aria2c:aria2 mvn:maven wrk:wrk dig:dnsutils"
# Debian packages with no command of their own, checked with dpkg -s
# (junit4: Debian's maven-dependency-plugin needs junit:junit:4.x at run time
# but its package does not pull it in; fonts-dejavu-core: text in Chromium
# screenshots of the status pages; postgresql: the server binaries the
# PostgreSQL store's tests start a throw-away cluster with)
pkgs="python3-pyftpdlib libmaven-dependency-plugin-java junit4 fonts-dejavu-core postgresql"

missing=""
for pair in $need; do
	cmd=${pair%%:*}
	pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
for pkg in $pkgs; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing Debian packages:$missing (run make test as root, or apt-get install them)" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
