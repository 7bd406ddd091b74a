#!/bin/sh
set -eu
mkdir -p "$DOCKER_CONFIG"
cp "$WORKSPACE_REGISTRY_AUTH_PATH/.dockerconfigjson" "$DOCKER_CONFIG/config.json"
# Build once, promote by digest: the images that passed as the last beta get the stable tags.
set --
for service in $(shipyard ci services); do set -- "$@" "$IMAGE_PREFIX/$service:$SOURCE_TAG"; done
shipyard image release "$@" --version "$VERSION"
