#!/usr/bin/env bash
# Installs edgebus as a systemd service on Raspberry Pi OS / Debian. Idempotent: run it
# again after `git pull` (and a build) to upgrade; what is already in place is left alone.
#
#   sudo scripts/install.sh [--source DIR] [--dry-run]
#   sudo scripts/install.sh --uninstall [--purge]
#
#   --source DIR  the checkout to install from (default: the one holding this script).
#                 Its dist/ is shipped as built; without one, `npm ci` builds it there first.
#   --dry-run     print each command that would change the system instead of running it.
#   --uninstall   stop and disable the service, remove the unit and /opt/edgebus; the
#                 config (/etc/edgebus) and the data (/var/lib/edgebus) stay.
#   --purge       with --uninstall: remove the config, the data and the user too.
#   --root DIR    install under DIR instead of / (for tests): every path is prefixed,
#                 useradd/chown/systemctl are skipped with a note.
#   --skip-npm    do not run `npm ci` (only with --root: the tests' fast path).
#
# Layout: app /opt/edgebus (bin/, dist/src/, production node_modules), config
# /etc/edgebus/edgebus.yaml (from systemd/edgebus.example.yaml, never overwritten), rules
# and device profiles /etc/edgebus/{rules,devices}, data /var/lib/edgebus (user edgebus),
# unit /etc/systemd/system/edgebus.service.
set -euo pipefail

readonly NAME=edgebus
readonly MIN_NODE=20
# What the app needs at run time (package.json "files", plus the manifests for npm ci).
readonly APP_ITEMS=(bin dist/src proto devices rules systemd scripts package.json package-lock.json README.md)

ROOT=""
SOURCE=""
DRY_RUN=0
UNINSTALL=0
PURGE=0
SKIP_NPM=0
CHANGES=0

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
note() { printf '%s\n' "$*"; }
usage() { sed -n '2,21s/^# \{0,1\}//p' "$0"; }

# Runs a command that changes the system, or prints it with --dry-run.
run() {
  if [[ $DRY_RUN -eq 1 ]]; then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

changed() { CHANGES=$((CHANGES + 1)); }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --source) [[ $# -ge 2 ]] || die "--source needs a directory"; SOURCE=$2; shift 2 ;;
    --root) [[ $# -ge 2 ]] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --skip-npm) SKIP_NPM=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[[ $PURGE -eq 0 || $UNINSTALL -eq 1 ]] || die "--purge goes with --uninstall"
[[ $SKIP_NPM -eq 0 || -n $ROOT ]] || die "--skip-npm is only for test installs with --root"
if [[ -n $ROOT ]]; then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
fi
if [[ -z $SOURCE ]]; then
  SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
[[ -f $SOURCE/package.json && -f $SOURCE/bin/edgebus.js ]] || die "$SOURCE is not an edgebus checkout (no package.json, bin/edgebus.js)"
SOURCE=$(cd "$SOURCE" && pwd)

readonly APP_DIR=$ROOT/opt/$NAME
readonly ETC_DIR=$ROOT/etc/$NAME
readonly CONFIG=$ETC_DIR/$NAME.yaml
readonly DATA_DIR=$ROOT/var/lib/$NAME
readonly UNIT=$ROOT/etc/systemd/system/$NAME.service

if [[ -z $ROOT && $DRY_RUN -eq 0 && $EUID -ne 0 ]]; then
  die "run as root (sudo $0 …), or try --dry-run"
fi

# Commands that only make sense on the real system.
system() {
  if [[ -n $ROOT ]]; then
    note "skipped (--root): $*"
  else
    run "$@"
  fi
}

check_node() {
  local version
  version=$(node -p 'process.versions.node' 2>/dev/null) || die "edgebus needs Node.js >= $MIN_NODE and found none on PATH: install it (https://nodejs.org/en/download, or the NodeSource packages for Debian)"
  [[ ${version%%.*} -ge $MIN_NODE ]] || die "edgebus needs Node.js >= $MIN_NODE, found $version: upgrade it (https://nodejs.org/en/download, or the NodeSource packages for Debian)"
  note "node $version: ok"
}

ensure_user() {
  if [[ -n $ROOT ]]; then
    note "skipped (--root): user $NAME in group dialout"
  elif ! id -u "$NAME" >/dev/null 2>&1; then
    # A system user: no login shell, no home directory; dialout for the serial ports.
    run useradd --system --user-group --groups dialout --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$NAME"
    changed
  elif ! id -nG "$NAME" | tr ' ' '\n' | grep -qx dialout; then
    run usermod --append --groups dialout "$NAME"
    changed
  else
    note "user $NAME: ok"
  fi
}

# The source ships its build: `npm ci` in /opt/edgebus omits the devDependencies, so it
# cannot run tsc there.
ensure_build() {
  [[ -f $SOURCE/dist/src/cli/main.js ]] && return 0
  note "no build in $SOURCE: building it (npm ci runs tsc)"
  run npm --prefix "$SOURCE" ci
}

install_app() {
  local item app_changed=0
  run mkdir -p "$APP_DIR"
  for item in "${APP_ITEMS[@]}"; do
    [[ -e $SOURCE/$item ]] || continue
    if [[ -e $APP_DIR/$item ]] && diff -rq "$SOURCE/$item" "$APP_DIR/$item" >/dev/null 2>&1; then
      continue
    fi
    run rm -rf "${APP_DIR:?}/$item"
    run mkdir -p "$(dirname "$APP_DIR/$item")"
    run cp -a "$SOURCE/$item" "$APP_DIR/$item"
    app_changed=1
  done
  if [[ $app_changed -eq 1 ]]; then changed; else note "app $APP_DIR: ok"; fi
  if [[ $SKIP_NPM -eq 1 ]]; then
    note "skipped (--skip-npm): npm ci --omit=dev in $APP_DIR"
  elif [[ $app_changed -eq 1 || ! -d $APP_DIR/node_modules ]]; then
    # --ignore-scripts: no prepare (tsc is a devDependency, dist/ is shipped) and no native
    # builds (the native modules load their prebuilt binaries; see README "Native modules").
    run npm --prefix "$APP_DIR" ci --omit=dev --ignore-scripts --no-audit --no-fund
    changed
  fi
}

install_config() {
  if [[ -d $ETC_DIR/rules && -d $ETC_DIR/devices ]]; then
    :
  else
    run mkdir -p "$ETC_DIR/rules" "$ETC_DIR/devices"
    changed
  fi
  if [[ -e $CONFIG ]]; then
    note "config $CONFIG: kept"
    return 0
  fi
  # Readable by the service only: it may hold passwords.
  run install -m 0640 "$SOURCE/systemd/$NAME.example.yaml" "$CONFIG"
  system chgrp "$NAME" "$CONFIG"
  changed
}

install_data_dir() {
  if [[ -d $DATA_DIR ]]; then
    note "data $DATA_DIR: ok"
    return 0
  fi
  # systemd's StateDirectory= would create it too; made here so it is there before the first start.
  run install -d -m 0750 "$DATA_DIR"
  system chown "$NAME:$NAME" "$DATA_DIR"
  changed
}

install_unit() {
  if cmp -s "$SOURCE/systemd/$NAME.service" "$UNIT"; then
    note "unit $UNIT: ok"
    return 0
  fi
  run mkdir -p "$(dirname "$UNIT")"
  run install -m 0644 "$SOURCE/systemd/$NAME.service" "$UNIT"
  changed
}

start_service() {
  system systemctl daemon-reload
  # An upgrade restarts a running service; a first install starts it.
  if [[ $CHANGES -gt 0 ]]; then system systemctl try-restart "$NAME.service"; fi
  system systemctl enable --now "$NAME.service"
}

uninstall() {
  if [[ -e $UNIT ]]; then
    system systemctl disable --now "$NAME.service"
    run rm -f "$UNIT"
    changed
  fi
  system systemctl daemon-reload
  if [[ -e $APP_DIR ]]; then run rm -rf "$APP_DIR"; changed; fi
  if [[ $PURGE -eq 1 ]]; then
    run rm -rf "$ETC_DIR" "$DATA_DIR"
    if [[ -z $ROOT ]] && id -u "$NAME" >/dev/null 2>&1; then run userdel "$NAME"; fi
    changed
  else
    note "kept: $ETC_DIR (config) and $DATA_DIR (data); --purge removes them"
  fi
  note "$NAME uninstalled"
}

if [[ $UNINSTALL -eq 1 ]]; then
  uninstall
  exit 0
fi

check_node
ensure_user
ensure_build
install_app
install_config
install_data_dir
install_unit
start_service
if [[ $CHANGES -eq 0 ]]; then
  note "$NAME is installed: nothing to change"
else
  note "$NAME installed ($CHANGES changes): systemctl status $NAME, journalctl -u $NAME"
fi
