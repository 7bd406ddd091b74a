"""Shipyard: a GitOps release platform for monorepos of services and TypeScript packages."""

__version__ = "0.1.0"
