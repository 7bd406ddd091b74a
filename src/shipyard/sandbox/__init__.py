"""The sandbox: production's images mirrored into the sandbox overlay with a TTL, and its database."""
