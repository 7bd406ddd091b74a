"""GitHub's REST API: a small client (token auth, rate-limit retries, pagination) and PR feedback."""

from shipyard.github.client import GitHubClient, GitHubError, load_token

__all__ = ["GitHubClient", "GitHubError", "load_token"]
