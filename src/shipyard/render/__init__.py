"""Rendering the GitOps config repo from the platform spec and the workspace."""
