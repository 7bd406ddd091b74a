"""``shipyard init``: scaffolding the seed's monorepo with a valid ``shipyard.yaml``."""
