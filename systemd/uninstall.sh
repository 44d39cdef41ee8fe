#!/bin/sh
# Removes cronsync. Scheduler entries go first, while the binary they call still exists:
# `cronsync prune --all --force` removes every entry carrying this agent's marker and
# leaves foreign entries alone. Config and state are kept unless --purge.
#
#   sudo ./systemd/uninstall.sh [--purge] [--keep-entries]
#
# Environment: DESTDIR, PREFIX as for install.sh.
set -eu

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
LIBDIR="$PREFIX/lib/cronsync"
BINDIR="$PREFIX/bin"
CONFDIR=/etc/cronsync
STATEDIR=/var/lib/cronsync
UNITDIR=/etc/systemd/system
purge=no
keep_entries=no

for arg in "$@"; do
  case "$arg" in
    --purge) purge=yes ;;
    --keep-entries) keep_entries=yes ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { echo "uninstall.sh: $*"; }
live_systemd() { [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

# 1. Stop the daemon first, so it cannot re-install entries behind our back.
was_active=no
if live_systemd; then
  if systemctl is-active --quiet cronsync.service; then was_active=yes; fi
  systemctl disable --now cronsync.service 2>/dev/null || true
fi

# 2. Remove our scheduler entries.
if [ "$keep_entries" = no ] && [ -x "$DESTDIR$BINDIR/cronsync" ]; then
  say "removing cronsync's scheduler entries"
  if ! "$DESTDIR$BINDIR/cronsync" prune --all --force --config "$DESTDIR$CONFDIR/config.yaml"; then
    if [ "$was_active" = yes ]; then systemctl enable --now cronsync.service || true; fi
    echo "uninstall.sh: removing scheduler entries failed; nothing else was removed." >&2
    echo "uninstall.sh: fix the error, or rerun with --keep-entries to leave them installed." >&2
    exit 1
  fi
fi

if [ "$keep_entries" = yes ]; then
  say "kept cronsync's scheduler entries (--keep-entries): they fail to start until cronsync is installed again"
fi

# 3. The unit, the wrapper and the package.
rm -f "$DESTDIR$UNITDIR/cronsync.service"
if live_systemd; then systemctl daemon-reload; systemctl reset-failed cronsync.service 2>/dev/null || true; fi
rm -f "$DESTDIR$BINDIR/cronsync"
# $LIBDIR is a symlink to the current version in $LIBDIR.versions (a directory before that).
rm -rf "$DESTDIR$LIBDIR" "$DESTDIR$LIBDIR.new" "$DESTDIR$LIBDIR.versions"

# Drop-ins (systemctl edit cronsync) are the user's own, like the config.
if [ "$purge" = yes ]; then
  rm -rf "$DESTDIR$CONFDIR" "$DESTDIR$STATEDIR" "$DESTDIR$UNITDIR/cronsync.service.d"
  say "removed cronsync, its config, its state and its drop-ins"
else
  kept="$CONFDIR and $STATEDIR"
  if [ -e "$DESTDIR$UNITDIR/cronsync.service.d" ]; then kept="$CONFDIR, $STATEDIR and $UNITDIR/cronsync.service.d"; fi
  say "removed cronsync; kept $kept (use --purge to remove them)"
fi
