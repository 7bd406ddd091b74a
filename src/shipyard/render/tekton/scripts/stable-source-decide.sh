#!/bin/sh
set -eu
mkdir -p .shipyard
# The decision and its reason (e.g. the files that changed since the beta) go to the log and the workspace.
shipyard ci stable-source --version "$VERSION" --json \
  --mode-file "$RESULT_MODE_PATH" --source-file "$RESULT_SOURCE_TAG_PATH" > .shipyard/stable-source.json
cat .shipyard/stable-source.json
