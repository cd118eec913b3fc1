"""Write tests/data/seed_snapshot.json: the five bundled guidelines as the hand-written profiles parsed them.

Run once, from the repository root, at the commit that still had the five profile functions
(``fundgraph.loaders.parsers.PROFILES``); the snapshot is committed and the profiles are gone since:

    python tests/data/make_seed_snapshot.py

Every Direction field, the sections and the warnings of each document are kept, keyed by program id.
"""

from __future__ import annotations

import json
from pathlib import Path

from fundgraph.core.paths import GUIDELINES_DIR, MANIFEST_PATH
from fundgraph.loaders.corpus import parse_text, read_manifest, read_text

OUT = Path(__file__).resolve().parent / "seed_snapshot.json"


def main() -> None:
    snapshot = {}
    for entry in read_manifest(MANIFEST_PATH):
        text, _ = read_text(GUIDELINES_DIR / entry.file)
        doc = parse_text(text, file=entry.file, program=entry.program())
        snapshot[entry.id] = {
            "profile": entry.profile,
            "file": entry.file,
            "sections": [s.model_dump(mode="json") for s in doc.sections],
            "directions": [d.model_dump(mode="json") for d in doc.directions],
            "warnings": doc.warnings,
        }
    OUT.write_text(json.dumps(snapshot, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT}: {sum(len(v['directions']) for v in snapshot.values())} directions")


if __name__ == "__main__":
    main()
