#!/bin/sh
set -eu
# A private monorepo is read with the git-credentials workspace (a git credential store file), when bound.
if [ "$WORKSPACE_GIT_CREDENTIALS_BOUND" = true ]; then
  git config --global credential.helper "store --file=$WORKSPACE_GIT_CREDENTIALS_PATH/.git-credentials"
fi
# Full history and tags: versions and affected projects are computed from them.
git init -q .
git remote remove origin 2>/dev/null || true
git remote add origin "$URL"
git fetch -q --tags origin '+refs/heads/*:refs/remotes/origin/*'
git fetch -q origin "$REVISION"
case "$REF" in
  refs/heads/*) git checkout -q --force -B "${REF#refs/heads/}" FETCH_HEAD ;;
  *) git checkout -q --force --detach FETCH_HEAD ;;
esac
printf %s "$(git rev-parse HEAD)" > "$RESULT_COMMIT_PATH"
