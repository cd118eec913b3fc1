"""The graph model, the build pipeline and the stores."""
