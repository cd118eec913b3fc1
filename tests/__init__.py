"""fundgraph tests; PROJECT_ROOT is the repository checkout (tests only: the package never reads it)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
