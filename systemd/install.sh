#!/bin/sh
# Installs cronsync as a systemd service.
#
#   sudo ./systemd/install.sh                  # from a built checkout or an npm-installed package
#   DESTDIR=/tmp/root ./systemd/install.sh     # stage into a root (packaging, tests): no systemctl
#
# Environment:
#   DESTDIR   staging root (default: none, i.e. /)
#   PREFIX    install prefix (default /usr/local): package in $PREFIX/lib/cronsync,
#             wrapper in $PREFIX/bin/cronsync
#   NODE      node binary baked into the wrapper (default: `command -v node`)
#   CRONSYNC_SRC  package to install (default: the directory above this script)
#   NO_START=1    enable the unit but do not start it
set -eu

umask 022
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SRC=${CRONSYNC_SRC:-$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)}
NODE=${NODE:-$(command -v node || true)}
LIBDIR="$PREFIX/lib/cronsync"
BINDIR="$PREFIX/bin"
CONFDIR=/etc/cronsync
STATEDIR=/var/lib/cronsync
UNITDIR=/etc/systemd/system

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

[ -f "$SRC/package.json" ] || die "no package.json in $SRC (set CRONSYNC_SRC)"
[ -f "$SRC/dist/cli/main.js" ] || die "$SRC/dist/cli/main.js missing: run 'npm run build' first"
[ -n "$NODE" ] && [ -x "$NODE" ] || die "node not found (set NODE=/path/to/node)"
case "$NODE" in /*) ;; *) die "NODE must be an absolute path: $NODE" ;; esac
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (or set DESTDIR to stage)"; fi

# 1. The package: replaced as a whole, so no file of an older version lingers.
say "installing package into $DESTDIR$LIBDIR"
mkdir -p "$DESTDIR$PREFIX/lib" "$DESTDIR$BINDIR"
rm -rf "$DESTDIR$LIBDIR.new"
mkdir -p "$DESTDIR$LIBDIR.new"
for item in package.json package-lock.json dist schema systemd windows README.md LICENSE node_modules; do
  if [ -e "$SRC/$item" ]; then cp -R "$SRC/$item" "$DESTDIR$LIBDIR.new/"; fi
done
if [ -d "$DESTDIR$LIBDIR.new/node_modules" ] && [ -z "${SKIP_PRUNE:-}" ] && command -v npm >/dev/null 2>&1; then
  # A checkout carries dev dependencies; prune them offline.
  (cd "$DESTDIR$LIBDIR.new" && npm prune --omit=dev --no-audit --no-fund --offline >/dev/null 2>&1) || say "npm prune failed; dev dependencies kept"
fi
rm -rf "$DESTDIR$LIBDIR.old"
if [ -e "$DESTDIR$LIBDIR" ]; then mv "$DESTDIR$LIBDIR" "$DESTDIR$LIBDIR.old"; fi
mv "$DESTDIR$LIBDIR.new" "$DESTDIR$LIBDIR"
rm -rf "$DESTDIR$LIBDIR.old"

# 2. The wrapper: absolute node path, because cron and systemd run with a minimal PATH.
cat > "$DESTDIR$BINDIR/cronsync.tmp" <<WRAPPER
#!/bin/sh
exec "$NODE" "$LIBDIR/dist/cli/main.js" "\$@"
WRAPPER
chmod 0755 "$DESTDIR$BINDIR/cronsync.tmp"
mv "$DESTDIR$BINDIR/cronsync.tmp" "$DESTDIR$BINDIR/cronsync"

# 3. Config (never overwritten) and state directories.
mkdir -p "$DESTDIR$CONFDIR" "$DESTDIR$STATEDIR"
chmod 0750 "$DESTDIR$CONFDIR"
chmod 0711 "$DESTDIR$STATEDIR"
had_config=no
if [ -e "$DESTDIR$CONFDIR/config.yaml" ]; then
  had_config=yes
  say "keeping existing $CONFDIR/config.yaml"
else
  cp "$SRC/systemd/config.example.yaml" "$DESTDIR$CONFDIR/config.yaml"
  chmod 0640 "$DESTDIR$CONFDIR/config.yaml"
  say "wrote example $CONFDIR/config.yaml: edit it before starting"
fi

# 4. The unit, pointed at the wrapper.
mkdir -p "$DESTDIR$UNITDIR"
sed -e "s#^ExecStart=/usr/local/bin/cronsync #ExecStart=$BINDIR/cronsync #" \
  "$SRC/systemd/cronsync.service" > "$DESTDIR$UNITDIR/cronsync.service.tmp"
chmod 0644 "$DESTDIR$UNITDIR/cronsync.service.tmp"
mv "$DESTDIR$UNITDIR/cronsync.service.tmp" "$DESTDIR$UNITDIR/cronsync.service"

# 5. Enable (and start when a config was already there), only on a live systemd host.
if [ -n "$DESTDIR" ]; then
  say "staged into $DESTDIR; not touching systemd"
elif command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$had_config" = yes ] && [ -z "${NO_START:-}" ]; then
    systemctl enable --now cronsync.service
    say "cronsync enabled and started; logs: journalctl -u cronsync -f"
  else
    systemctl enable cronsync.service
    say "cronsync enabled; edit $CONFDIR/config.yaml, then: systemctl start cronsync"
  fi
else
  say "systemd is not running here; start '$BINDIR/cronsync daemon' yourself"
fi
