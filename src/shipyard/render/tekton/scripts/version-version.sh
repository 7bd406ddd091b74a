#!/bin/sh
set -eu
mkdir -p .shipyard
if [ -n "$PR_NUMBER" ]; then
  shipyard version --pr "$PR_NUMBER" --json > .shipyard/version.json
else
  shipyard version --json > .shipyard/version.json
fi
python3 -c 'import json, sys; sys.stdout.write(json.load(open(sys.argv[1]))["version"])' \
  .shipyard/version.json > "$RESULT_VERSION_PATH"
