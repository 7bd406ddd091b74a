#!/bin/sh
set -eu
shipyard check > /dev/null
echo "shipyard.yaml and the workspace are valid"
