#!/bin/sh
set -eu
# The pull request's branch follows the workflow's naming rules and may merge into its target.
shipyard branch check "$HEAD_REF" --target "$BASE_REF"
