#!/bin/sh
set -eu
# Registry credentials: $REGISTRY_AUTH_FILE, the Secret's file in its workspace.
# Unaffected services keep their image: it is retagged by manifest, so a version names every service.
for service in $(shipyard ci services --unaffected .shipyard/affected.json); do
  shipyard image tag "$IMAGE_PREFIX/$service:$FROM_TAG" "$VERSION"
done
set --
for service in $(shipyard ci services); do set -- "$@" "$IMAGE_PREFIX/$service:$VERSION"; done
shipyard image release "$@" --version "$VERSION"
