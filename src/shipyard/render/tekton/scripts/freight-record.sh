#!/bin/sh
set -eu
git config --global credential.helper "store --file=$WORKSPACE_GIT_CREDENTIALS_PATH/.git-credentials"
# Every service's digest under the version's tag, recorded in the config repo with the commit it came from.
set -- --version "$VERSION" --from-registry --source-commit "$SOURCE_COMMIT"
# The pull request, when the commit is GitHub's merge ("Merge pull request #N ...") or squash ("... (#N)").
subject="$(git log -1 --format=%s "$SOURCE_COMMIT")"
pr="$(printf '%s\n' "$subject" | sed -n -e 's/^Merge pull request #\([0-9][0-9]*\) .*/\1/p' -e 's/.* (#\([0-9][0-9]*\))$/\1/p')"
if [ -n "$pr" ]; then set -- "$@" --pr "$pr"; fi
shipyard freight add "$@"
