#!/bin/sh
set -eu
# Harbor's projects, scan policy, immutable tags, retention and webhook, as shipyard.yaml asks. The CI robot is
# left alone: it is the pipelines' own credential, and its secret must never reach a pipeline's log.
SHIPYARD_HARBOR_USERNAME="$(cat "$WORKSPACE_HARBOR_AUTH_PATH/username")"
SHIPYARD_HARBOR_PASSWORD="$(cat "$WORKSPACE_HARBOR_AUTH_PATH/password")"
export SHIPYARD_HARBOR_USERNAME SHIPYARD_HARBOR_PASSWORD
shipyard harbor apply --no-robot
