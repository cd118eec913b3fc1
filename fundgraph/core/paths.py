"""Paths to the data shipped inside the package (package data), anchored to the package, never the working directory.

The same paths hold for an editable install and for a wheel: ``fundgraph/data`` is package data.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PACKAGE_DIR / "data"
GUIDELINES_DIR = DATA_DIR / "guidelines"
MANIFEST_PATH = DATA_DIR / "manifest.yaml"
VOCAB_DIR = DATA_DIR / "vocab"
EVAL_DIR = DATA_DIR / "eval"
PARSE_DEV_DIR = EVAL_DIR / "parse_dev"
STATIC_DIR = PACKAGE_DIR / "api" / "static"
CYPHER_DIR = PACKAGE_DIR / "cypher"
