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
# The oldest Node.js the package runs on (its engines), checked in syntax any node parses.
min=$(sed -n 's/.*"node" *: *">= *\([0-9][0-9.]*\)".*/\1/p' "$SRC/package.json" | head -n 1)
if [ -n "$min" ] && ! "$NODE" -e 'var h = process.versions.node.split(".").map(Number), n = process.argv[1].split(".").map(Number), i = 0;
for (; i < 3 && (h[i] || 0) === (n[i] || 0); i++);
process.exit(i === 3 || (h[i] || 0) > (n[i] || 0) ? 0 : 1)' "$min" 2>/dev/null; then
  die "$NODE is Node.js $("$NODE" --version 2>/dev/null || echo '(unknown)'); cronsync needs $min or later (set NODE=/path/to/node)"
fi
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (or set DESTDIR to stage)"; fi

# 1. The package: each install gets a directory of its own in $LIBDIR.versions, and $LIBDIR is
# a symlink to the current one, switched by one rename(2). Node resolves the link once, when a
# run starts, so a job fired during an upgrade runs wholly the old or wholly the new version,
# and never finds no package. No file of an older version lingers in the new one.
VERSIONS="$LIBDIR.versions"
version=$(sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p' "$SRC/package.json" | head -n 1)
case $version in ''|*[!A-Za-z0-9._+-]*) version=unknown ;; esac
stamp=$(date -u +%Y%m%dT%H%M%SZ)-$$
id="$version-$stamp"
say "installing package into $DESTDIR$VERSIONS/$id"
mkdir -p "$DESTDIR$VERSIONS" "$DESTDIR$BINDIR"
rm -rf "$DESTDIR$VERSIONS/$id" "$DESTDIR$LIBDIR.new"
mkdir "$DESTDIR$VERSIONS/$id"
for item in package.json package-lock.json dist schema systemd windows README.md LICENSE node_modules; do
  if [ -e "$SRC/$item" ]; then cp -R "$SRC/$item" "$DESTDIR$VERSIONS/$id/"; fi
done
if [ -d "$DESTDIR$VERSIONS/$id/node_modules" ] && [ -z "${SKIP_PRUNE:-}" ] && command -v npm >/dev/null 2>&1; then
  # A checkout carries dev dependencies; prune them offline.
  (cd "$DESTDIR$VERSIONS/$id" && npm prune --omit=dev --no-audit --no-fund --offline >/dev/null 2>&1) || say "npm prune failed; dev dependencies kept"
fi
# Relative, so that a DESTDIR staging root can be moved as it is.
ln -s "cronsync.versions/$id" "$DESTDIR$LIBDIR.new"
previous= aside=
if [ -L "$DESTDIR$LIBDIR" ]; then
  previous=$(readlink "$DESTDIR$LIBDIR")
elif [ -d "$DESTDIR$LIBDIR" ]; then
  # Installed before versioned directories: moved aside once, right before the switch.
  aside="$DESTDIR$VERSIONS/previous-$stamp"
  previous="cronsync.versions/previous-$stamp"
elif [ -e "$DESTDIR$LIBDIR" ]; then
  die "$DESTDIR$LIBDIR is neither a directory nor a symlink; move it away first"
fi
# rename(2) over the old link (`mv` would move the new link into the directory the old one
# names), in one process with the move aside: a migration leaves no package for microseconds, once.
"$NODE" -e 'const fs = require("fs"); const [, lib, link, aside] = process.argv; if (aside) fs.renameSync(lib, aside); fs.renameSync(link, lib);' \
  "$DESTDIR$LIBDIR" "$DESTDIR$LIBDIR.new" "$aside"
# The previous version stays, for runs that started on it and the daemon until it restarts;
# older ones go.
for dir in "$DESTDIR$VERSIONS"/*; do
  case "cronsync.versions/${dir##*/}" in "cronsync.versions/$id"|"$previous") ;; *) rm -rf "$dir" ;; esac
done

# 2. The wrapper: absolute node path, because cron and systemd run with a minimal PATH.
cat > "$DESTDIR$BINDIR/cronsync.tmp" <<WRAPPER
#!/bin/sh
exec "$NODE" "$LIBDIR/dist/cli/main.js" "\$@"
WRAPPER
chmod 0755 "$DESTDIR$BINDIR/cronsync.tmp"
mv "$DESTDIR$BINDIR/cronsync.tmp" "$DESTDIR$BINDIR/cronsync"

# 3. Config (never overwritten) and state directories. A missing directory is created with its
# mode; an existing one (or the directory its symlink names) keeps its contents and owner, and
# its mode is only ever narrowed to that one (a stricter mode stays).
dir_mode() { # path mode narrowing
  if [ -L "$DESTDIR$1" ] && [ ! -d "$DESTDIR$1" ]; then die "$1 is a symlink to no directory: fix or remove it"; fi
  if [ -d "$DESTDIR$1" ]; then
    was=$(ls -ldL "$DESTDIR$1" | cut -c1-10)
    chmod "$3" "$DESTDIR$1"
    now=$(ls -ldL "$DESTDIR$1" | cut -c1-10)
    [ "$was" = "$now" ] || say "narrowed the mode of $1 from $was to $now"
  else
    mkdir -p "$DESTDIR$1" && chmod "$2" "$DESTDIR$1"
  fi
}
dir_mode "$CONFDIR" 0750 g-w,o-rwx
dir_mode "$STATEDIR" 0711 g-rw,o-rw
# Whoever can write the config chooses the commands root runs: say so, change nothing.
if [ "$(id -u)" -eq 0 ]; then
  for path in "$CONFDIR" "$CONFDIR/config.yaml" "$STATEDIR"; do
    [ -e "$DESTDIR$path" ] || continue
    set -- $(ls -ldnL "$DESTDIR$path")
    case "$1" in ?????w*|????????w*) say "warning: $path is writable by group or others ($1)" ;; esac
    [ "$3" = 0 ] || say "warning: $path is owned by uid $3, not root: that account can choose what cronsync runs as root"
  done
fi
had_config=no
if [ -e "$DESTDIR$CONFDIR/config.yaml" ] || [ -L "$DESTDIR$CONFDIR/config.yaml" ]; then
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
  -e "s#^Documentation=file:///usr/local/lib/cronsync/#Documentation=file://$LIBDIR/#" \
  "$SRC/systemd/cronsync.service" > "$DESTDIR$UNITDIR/cronsync.service.tmp"
chmod 0644 "$DESTDIR$UNITDIR/cronsync.service.tmp"
mv "$DESTDIR$UNITDIR/cronsync.service.tmp" "$DESTDIR$UNITDIR/cronsync.service"

# 5. Enable (and start when a config was already there), only on a live systemd host.
if [ -n "$DESTDIR" ]; then
  say "staged into $DESTDIR; not touching systemd"
elif command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ "$had_config" = yes ] && [ -z "${NO_START:-}" ]; then
    # restart, not start: a daemon already running would go on running the previous version.
    systemctl enable cronsync.service
    systemctl restart cronsync.service
    say "cronsync enabled and (re)started; logs: journalctl -u cronsync -f"
  else
    systemctl enable cronsync.service
    if systemctl try-restart cronsync.service && systemctl is-active --quiet cronsync.service; then
      say "cronsync enabled and restarted on the new version"
    else
      say "cronsync enabled; edit $CONFDIR/config.yaml, then: systemctl start cronsync"
    fi
  fi
else
  say "systemd is not running here; start '$BINDIR/cronsync daemon' yourself"
fi
