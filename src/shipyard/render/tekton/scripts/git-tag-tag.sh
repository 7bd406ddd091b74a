#!/bin/sh
set -eu
git config --global credential.helper "store --file=$WORKSPACE_GIT_CREDENTIALS_PATH/.git-credentials"
shipyard release tag --push origin
