"""The embedded store (the default): the built graph in memory as networkx, persisted in one directory."""
