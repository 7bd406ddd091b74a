#!/bin/sh
set -eu
SHIPYARD_NPM_TOKEN="$(cat "$WORKSPACE_NPM_AUTH_PATH/token")"
export SHIPYARD_NPM_TOKEN
# The release's version (aligned across packages), with the dist-tag its maturity gives.
shipyard packages publish --version "$VERSION"
