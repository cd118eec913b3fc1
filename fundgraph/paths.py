"""Paths to the data bundled with the project, anchored to the source tree (never the working directory)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
GUIDELINES_DIR = DATA_DIR / "guidelines"
MANIFEST_PATH = DATA_DIR / "manifest.yaml"
VOCAB_DIR = DATA_DIR / "vocab"
