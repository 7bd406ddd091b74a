"""Preview environments: one per pull request in the config repo, and a clean-up that deletes only what
carries every one of Shipyard's marks."""
