#!/bin/sh
set -eu
git config --global credential.helper "store --file=$WORKSPACE_GIT_CREDENTIALS_PATH/.git-credentials"
# The config repo rendered from this commit's shipyard.yaml and services, committed and pushed (or unchanged).
checkout="$(mktemp -d)"
trap 'rm -rf "$checkout"' EXIT
git clone -q "$SHIPYARD_CONFIG_REPO" "$checkout"
shipyard render --out "$checkout" --commit
