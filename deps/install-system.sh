#!/usr/bin/env bash
# Installs the system (apt) and npm parts that a profile needs: `runtime` for the demo, `test` for the
# test suite. Lists live beside this script so that each feature adds its parts in one place.
# Already-installed parts are skipped, so a second run costs a second or two.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
profile="${1:?usage: install-system.sh runtime|test}"

apt_list="$here/apt-$profile.txt"
if [ -f "$apt_list" ]; then
  mapfile -t wanted < <(grep -v '^\s*#' "$apt_list" | awk 'NF {print $1}')
  missing=()
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

npm_dir="$here/npm-$profile"
if [ -f "$npm_dir/package.json" ]; then
  # node_modules lives in the project's .tools/ so it is never committed and is easy to wipe.
  target="$here/../.tools/npm-$profile"
  mkdir -p "$target"
  if ! cmp -s "$npm_dir/package.json" "$target/package.json" || [ ! -d "$target/node_modules" ]; then
    echo "installing npm tools ($profile)"
    cp "$npm_dir/package.json" "$target/package.json"
    (cd "$target" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi
