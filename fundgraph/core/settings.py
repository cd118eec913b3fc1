"""One settings object, read from the environment (prefix ``FUNDGRAPH_``) at the entry points."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fundgraph.core.paths import MANIFEST_PATH, VOCAB_DIR


class Settings(BaseSettings):
    """Every knob fundgraph reads; the CLI and the API read it once and pass values down."""

    model_config = SettingsConfigDict(env_prefix="FUNDGRAPH_", env_file=None, extra="ignore")

    # Storage
    store: Literal["embedded", "neo4j"] = "embedded"
    home: Path = Field(default_factory=lambda: Path.home() / ".fundgraph",
                       description="Directory of the embedded store.")
    build_lock_wait: float = Field(default=5.0, ge=0, description="Seconds a build waits for another build of "
                                   "the same home to finish before refusing.")
    neo4j_uri: str = "bolt://localhost:7687"
    neo4j_user: str = "neo4j"
    neo4j_password: str = "fundgraph"
    neo4j_database: str = "neo4j"

    # Corpus and vocabularies
    manifest: Path = MANIFEST_PATH
    allow_files_outside_corpus: bool = Field(default=False, description="Let manifest `file:` entries name "
                                             "files outside the corpus directory (absolute paths, '..').")
    vocab_dir: Path = VOCAB_DIR
    corpus_dir: Path | None = Field(
        default=None,
        description="The user's corpus (documents added with `fundgraph add`: manifest.yaml and guidelines/), "
                    "built with the bundled one; default <home>/corpus.",
    )

    # Build: per-document cache and process pool
    cache_dir: Path | None = Field(
        default=None, description="Per-document parse/extraction cache of incremental builds; None: HOME/cache.")
    build_cache: bool = Field(default=True, description="Read and write the per-document cache.")
    build_workers: int = Field(
        default=0, ge=0, description="Processes that parse and extract documents; 0: one per CPU core.")
    build_parallel_min_bytes: int = Field(
        default=1_000_000, ge=0,
        description="Documents to parse below this many bytes are parsed in the build's own process "
                    "(starting a pool costs more than it saves).")

    # Embeddings / similarity
    encoder: Literal["lexical", "sentence-transformers"] = "lexical"
    st_model: str = Field(
        default="BAAI/bge-small-zh-v1.5",
        description="sentence-transformers model name or local path (online default: a Chinese-capable model).",
    )
    st_batch_size: int = 32
    similar_top_k: int = 5
    similar_threshold: float | None = Field(
        default=None,
        description="SIMILAR_TO score threshold; None uses the encoder's own, calibrated on the gold set "
                    "(lexical 0.25, sentence-transformers 0.5; see `fundgraph eval similarity`). Set, it overrides "
                    "similar_min_confidence for SIMILAR_TO edges.",
    )
    similar_min_confidence: float | None = Field(
        default=None, ge=0, le=1,
        description="SIMILAR_TO threshold as a calibrated confidence (the probability that readers grade the pair "
                    "related); None uses the calibration's own (fundgraph/data/eval/calibration.json, chosen for "
                    "edge precision >= 0.80 on the graded set). Only the lexical encoder is calibrated.",
    )
    exact_similarity_max: int = Field(
        default=2000, ge=0,
        description="Up to this many directions the build scores every pair for SIMILAR_TO and communities; above "
                    "it, candidates come from an approximate nearest-neighbour index and are re-scored exactly "
                    "(recall of the exact edges in benchmarks/ann_choice.py).",
    )

    # API
    cors_origins: list[str] = ["http://localhost:3000", "http://127.0.0.1:3000"]
    max_limit: int = 500
    max_body_bytes: int = Field(default=1024 * 1024, description="Largest request body; a larger one is a 413.")
    client_timeout: float = Field(default=10.0, description="Seconds a client has to send its request headers "
                                  "and body (slow clients are answered 408 and disconnected).")
    search_workers: int = Field(default=2, ge=1, description="Searches run at once (CPU-bound: one per core).")
    search_processes: bool = Field(default=False, description="Run searches in worker processes of their own "
                                   "(`fundgraph serve` does), so cheap requests never wait behind one.")
    search_queue: int = Field(default=64, ge=0, description="Searches that may wait for a worker; more get 503 "
                              "(64: 32 clients searching at once all wait, none is refused).")
    search_timeout: float = Field(default=5.0, description="Seconds a search may wait and run before a 503.")
    store_threads: int = Field(
        default=4, ge=1,
        description="Requests that query a network store (Neo4j) at once (a detail or a similar list awaited on the "
                    "event loop, the others each from a thread of its own); the others wait in the API in arrival "
                    "order rather than as Bolt sessions contending in Neo4j.")


    @property
    def user_corpus(self) -> Path:
        """The user's corpus directory: ``corpus_dir``, or ``corpus/`` under ``home``."""
        return self.corpus_dir if self.corpus_dir is not None else self.home / "corpus"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process (tests clear the cache after changing the environment)."""
    return Settings()
