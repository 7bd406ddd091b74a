#!/bin/sh
set -eu
mkdir -p .shipyard/digests
# Where the image comes from, as OCI manifest annotations (the keys of shipyard.registry.build).
set -- --annotation "org.opencontainers.image.version=$VERSION"
[ -z "$REVISION" ] || set -- "$@" --annotation "org.opencontainers.image.revision=$REVISION"
[ -z "$SOURCE" ] || set -- "$@" --annotation "org.opencontainers.image.source=$SOURCE"
[ -z "$PR_NUMBER" ] || set -- "$@" --annotation "dev.shipyard.pull-request=$PR_NUMBER"
while read -r service <&3; do
  buildah --storage-driver=vfs bud --isolation=chroot --format=oci --layers "$@" \
    -f "services/$service/Dockerfile" -t "$IMAGE_PREFIX/$service:$VERSION" .
  buildah --storage-driver=vfs push --digestfile ".shipyard/digests/$service" "$IMAGE_PREFIX/$service:$VERSION"
done 3< .shipyard/batch-"$BATCH".txt
