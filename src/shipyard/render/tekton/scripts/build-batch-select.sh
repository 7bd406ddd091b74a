#!/bin/sh
set -eu
shipyard ci batch .shipyard/batches.json --index "$BATCH" > .shipyard/batch-"$BATCH".txt
cat .shipyard/batch-"$BATCH".txt
