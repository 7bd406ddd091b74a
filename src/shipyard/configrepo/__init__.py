"""The GitOps config repo: where it is (one local-or-remote rule), its one branch, scratch clones to change
it in, commit-and-push with retry, and the promotable file of each environment."""
