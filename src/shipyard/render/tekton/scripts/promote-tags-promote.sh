#!/bin/sh
set -eu
# Registry credentials: $REGISTRY_AUTH_FILE, the Secret's file in its workspace.
# Build once, promote by digest: the images that passed as the last beta get the stable tags.
set --
for service in $(shipyard ci services); do set -- "$@" "$IMAGE_PREFIX/$service:$SOURCE_TAG"; done
shipyard image release "$@" --version "$VERSION"
