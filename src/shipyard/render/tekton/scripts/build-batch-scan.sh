#!/bin/sh
set -eu
mkdir -p "$DOCKER_CONFIG"
cp "$WORKSPACE_REGISTRY_AUTH_PATH/.dockerconfigjson" "$DOCKER_CONFIG/config.json"
mkdir -p .shipyard/scan
while read -r service <&3; do
  trivy image --quiet --format json --output ".shipyard/scan/$service.json" \
    "$IMAGE_PREFIX/$service@$(cat ".shipyard/digests/$service")"
done 3< .shipyard/batch-"$BATCH".txt
