#!/bin/sh
set -eu
if [ "$WORKSPACE_REGISTRY_AUTH_BOUND" != true ]; then unset REGISTRY_AUTH_FILE; fi
mkdir -p .shipyard/digests
# No --layers: the build container's storage starts empty every time, so there is no layer cache to reuse.
# Where the image comes from, as OCI manifest annotations (the keys of shipyard.registry.build).
set -- --annotation "org.opencontainers.image.version=$VERSION"
[ -z "$REVISION" ] || set -- "$@" --annotation "org.opencontainers.image.revision=$REVISION"
[ -z "$SOURCE" ] || set -- "$@" --annotation "org.opencontainers.image.source=$SOURCE"
[ -z "$PR_NUMBER" ] || set -- "$@" --annotation "dev.shipyard.pull-request=$PR_NUMBER"
while read -r service <&3; do
  buildah --storage-driver=vfs bud --isolation=chroot --format=oci --layers=false --tls-verify="$TLS_VERIFY" "$@" \
    -f "services/$service/Dockerfile" -t "$IMAGE_PREFIX/$service:$VERSION" .
  if [ "$PUSH" = true ]; then
    buildah --storage-driver=vfs push --tls-verify="$TLS_VERIFY" --digestfile ".shipyard/digests/$service" \
      "$IMAGE_PREFIX/$service:$VERSION"
  else
    echo "built $IMAGE_PREFIX/$service:$VERSION; not pushed (push=$PUSH)"
  fi
done 3< .shipyard/batch-"$BATCH".txt
