#!/bin/sh
set -eu
git config --global credential.helper "store --file=$WORKSPACE_GIT_CREDENTIALS_PATH/.git-credentials"
# The config repo comes from $SHIPYARD_CONFIG_REPO (the pipeline's config-repo param).
if [ "$ACTION" = up ]; then
  set -- --pr "$PR_NUMBER" --sha "$REVISION"
  # Only the services built for this commit run in the preview (the matrix file is a JSON list of names;
  # an empty one means nothing was built, and no preview runs).
  if [ -f .shipyard/affected.json ]; then set -- "$@" --services-file .shipyard/affected.json; fi
  # The URLs go into the PR's Shipyard comment (its preview section) when a GitHub token is given.
  if [ "$WORKSPACE_GITHUB_TOKEN_BOUND" = true ] && [ -n "$REPO" ]; then
    set -- "$@" --comment --repo "$REPO" --token-file "$WORKSPACE_GITHUB_TOKEN_PATH/token"
  fi
  shipyard preview up "$@"
else
  shipyard preview down --pr "$PR_NUMBER"
fi
