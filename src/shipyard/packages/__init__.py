"""npm packages: versions aligned with the release, published to Verdaccio in dependency order."""
