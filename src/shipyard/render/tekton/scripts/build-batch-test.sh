#!/bin/sh
set -eu
while read -r service <&3; do
  if [ -f "services/$service/package.json" ]; then
    npm run --prefix "services/$service" --if-present test
  elif [ -d "services/$service/tests" ]; then
    python3 -m pytest -q "services/$service/tests"
  fi
done 3< .shipyard/batch-"$BATCH".txt
