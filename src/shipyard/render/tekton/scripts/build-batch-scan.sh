#!/bin/sh
set -eu
if [ "$PUSH" != true ]; then echo "nothing was pushed: nothing to scan"; exit 0; fi
# Trivy reads registry credentials from $DOCKER_CONFIG/config.json: the Secret's file, in this step's home.
if [ "$WORKSPACE_REGISTRY_AUTH_BOUND" = true ]; then
  DOCKER_CONFIG="$HOME/.docker"
  export DOCKER_CONFIG
  mkdir -p "$DOCKER_CONFIG"
  cp "$WORKSPACE_REGISTRY_AUTH_PATH/.dockerconfigjson" "$DOCKER_CONFIG/config.json"
fi
mkdir -p .shipyard/scan
while read -r service <&3; do
  trivy image --quiet --format json --output ".shipyard/scan/$service.json" \
    "$IMAGE_PREFIX/$service@$(cat ".shipyard/digests/$service")"
done 3< .shipyard/batch-"$BATCH".txt
