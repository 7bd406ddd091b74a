#!/bin/sh
set -eu
mkdir -p "$DOCKER_CONFIG"
cp "$WORKSPACE_REGISTRY_AUTH_PATH/.dockerconfigjson" "$DOCKER_CONFIG/config.json"
# Unaffected services keep their image: it is retagged by manifest, so a version names every service.
for service in $(shipyard ci services --unaffected .shipyard/affected.json); do
  shipyard image tag "$IMAGE_PREFIX/$service:$FROM_TAG" "$VERSION"
done
set --
for service in $(shipyard ci services); do set -- "$@" "$IMAGE_PREFIX/$service:$VERSION"; done
shipyard image release "$@" --version "$VERSION"
