"""fundgraph: a knowledge graph of research-funding directions."""

__version__ = "0.1.0"
