"""Branch rules and the git layer every command uses to read and change repositories."""
