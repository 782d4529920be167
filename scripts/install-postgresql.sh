#!/bin/sh
# Debian's PostgreSQL server for the tests that run on both backends (tests/postgres.py starts and removes it).
set -e
for bin in /usr/lib/postgresql/*/bin/pg_ctl; do [ -x "$bin" ] && exit 0; done
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/pg_ctl
