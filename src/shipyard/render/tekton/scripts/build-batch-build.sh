#!/bin/sh
set -eu
mkdir -p .shipyard/digests
while read -r service <&3; do
  buildah --storage-driver=vfs bud --isolation=chroot --format=oci --layers \
    -f "services/$service/Dockerfile" -t "$IMAGE_PREFIX/$service:$VERSION" .
  buildah --storage-driver=vfs push --digestfile ".shipyard/digests/$service" "$IMAGE_PREFIX/$service:$VERSION"
done 3< .shipyard/batch-"$BATCH".txt
