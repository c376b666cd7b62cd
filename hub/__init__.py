"""The hub image's own code: the settings contract and the configuration built from it."""
