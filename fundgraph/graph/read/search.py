"""Free-text search as both stores answer it: what the text names, which directions are results, why none.

A result must show evidence (:data:`SEARCH_RULE`): a vocabulary entity or keyword it shares with the text, or a
text similarity of at least :data:`MIN_TEXT_SCORE`. Directions with neither are taken out of the candidates
*before* ranking, so the k returned are the k best with evidence (fewer when fewer have any), scored exactly as
:func:`fundgraph.embeddings.scoring.rank` scores them. An empty answer says why and suggests vocabulary terms.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fundgraph.embeddings.english import words
from fundgraph.embeddings.scoring import Candidates, Scored, query_entities, query_matches, rank
from fundgraph.graph.read import models
from fundgraph.graph.read.ranking import RankingContext
from fundgraph.graph.read.records import HierarchyMarks

#: A direction sharing no entity with the text is a result only from this text similarity up.
MIN_TEXT_SCORE = 0.10
#: What a search result must show, as the response states it.
SEARCH_RULE = (
    f"A result shares at least one vocabulary entity or keyword with the text (named in explanation.shared, the "
    f"broader entities of the vocabulary hierarchy included), or its text similarity is at least "
    f"{MIN_TEXT_SCORE:.2f}. Directions with neither are not results, so fewer than k may come back."
)
#: How many terms an empty answer suggests.
SUGGESTIONS = 8


def with_evidence(pool: Candidates, vector: np.ndarray, entities: dict[str, float]) -> np.ndarray:
    """Which candidates of ``pool`` show evidence for a query (its text ``vector`` and ``entities`` profile).

    Evidence: an entity of the query's profile that the candidate's profile holds too (with a non-zero rarity
    weight, so that the explanation names it), or text similarity ≥ :data:`MIN_TEXT_SCORE`. A boolean mask over
    the rows, from one text product and one column slice of the entity matrix: filtering the profiles in Python
    and ranking a new candidate set (whose entity matrix was then rebuilt) took 380 ms per search at 20,000
    directions.
    """
    q = np.asarray(vector, dtype=np.float32).reshape(-1)
    n = len(pool.ids)
    if n and q.shape[0] == pool.vectors.shape[1]:
        text = np.asarray(np.clip(pool.vectors @ q, -1.0, 1.0), dtype=np.float64).reshape(-1)
    else:
        text = np.zeros(n, dtype=np.float64)
    keep = text >= MIN_TEXT_SCORE + 1e-6
    for i in np.flatnonzero((text > MIN_TEXT_SCORE - 1e-6) & ~keep):  # the rounding decides (as the results show it)
        keep[i] = round(float(text[i]), 6) >= MIN_TEXT_SCORE
    m, columns = pool.entity_matrix
    wanted = [columns[e] for e, w in entities.items() if w > 0 and pool.idf.get(e, 0.0) > 0 and e in columns]
    if wanted and n:
        keep |= np.asarray((m[:, wanted] > 0).sum(axis=1)).reshape(-1) > 0
    return keep


def search(
    text: str,
    k: int,
    programs: Sequence[str] | None,
    *,
    context: RankingContext,
    cands: Candidates,
    vector: np.ndarray,
    item: Callable[[Scored], models.SimilarItem],
    marks: HierarchyMarks,
    pool: Candidates | None = None,
) -> models.SearchResults:
    """Directions ranked against ``text``, those with evidence only, and what the text named.

    Args:
        text: the search text (already checked).
        k: how many at most.
        programs: only directions of these programs (None: all).
        context: the build's ranking context (scoring configuration, lexicon).
        cands: every direction (entity profiles and rarity weights; the vocabulary the text is matched to).
        vector: the text's vector (the build's encoder).
        item: a ranked candidate as the API shows it.
        marks: marks the shared entities the text or the direction reaches only through the hierarchy.
        pool: the candidates to rank (default ``cands``; the Neo4j store's come from its vector index).
    """
    lexicon = context.lexicon()
    named = query_matches(text, lexicon, cands)
    entities = query_entities(text, lexicon, cands)
    pool = cands if pool is None else pool
    # No entity gate for free text: a few words have a low cosine with any direction (none at all for English
    # words the lexicon maps only to entities), and `with_evidence` already demands a shared word or entity.
    config = context.config.with_(entity_gate=0.0)
    ranked = rank(vector, entities, pool, config=config, k=k, programs=list(programs) if programs else None,
                  mask=with_evidence(pool, vector, entities))
    terms = [models.QueryTerm(**_term(eid, lexicon, cands), matched=m) for eid, m in named.items()]
    if ranked:
        return models.SearchResults(items=[marks.mark(item(s), named) for s in ranked], rule=SEARCH_RULE,
                                    query_entities=terms)
    return models.SearchResults(items=[], rule=SEARCH_RULE, query_entities=terms,
                                reason=_reason(terms, programs), suggestions=suggest(text, cands))


def _term(eid: str, lexicon: Any, cands: Candidates) -> dict[str, str]:
    info = cands.info.get(eid) or lexicon.terms.get(eid)
    return {"id": eid, "type": getattr(info, "type", "") or eid.split(":", 1)[0],
            "name": getattr(info, "name", "") or eid, "name_en": getattr(info, "name_en", "") or ""}


def _reason(terms: list[models.QueryTerm], programs: Sequence[str] | None) -> str:
    where = f" of {', '.join(programs)}" if programs else ""
    if not terms:
        return (f"The text names no vocabulary entity or keyword of the corpus (in Chinese, or by an English name, "
                f"synonym or word of one), and no direction{where} reaches text similarity {MIN_TEXT_SCORE:.2f}. "
                f"Try one of the suggested terms.")
    names = ", ".join(f"{t.name} ({t.name_en})" if t.name_en else t.name for t in terms)
    return (f"The text names {names}, but no direction{where} cites it (or anything under it) or reaches text "
            f"similarity {MIN_TEXT_SCORE:.2f}.")


def suggest(text: str, cands: Candidates, *, n: int = SUGGESTIONS) -> list[models.VocabularyTerm]:
    """Vocabulary terms of the corpus to search for instead of ``text``.

    Those whose Chinese or English names come closest to the text's words (difflib ratio ≥ 0.6), else the most
    cited ones of the scored types (the directions cite them most).
    """
    cited: dict[str, int] = {}
    for profile in cands.entities:
        for e in profile:
            cited[e] = cited.get(e, 0) + 1
    query = [w for _, w in words(text)] + re.findall(r"[\u4e00-\u9fff]{2,}", text)
    scored: list[tuple[float, int, str]] = []
    for eid, info in cands.info.items():
        if eid not in cited or info.type == "keyword":
            continue
        tokens = [info.name, *(w for _, w in words(info.name_en))]
        best = max((difflib.SequenceMatcher(None, q.lower(), t.lower()).ratio() for q in query for t in tokens),
                   default=0.0)
        if best >= 0.6:
            scored.append((best, cited[eid], eid))
    if scored:
        chosen = [e for _, _, e in sorted(scored, key=lambda s: (-s[0], -s[1], s[2]))[:n]]
    else:
        chosen = sorted((e for e in cited if e in cands.info and cands.info[e].type != "keyword"),
                        key=lambda e: (-cited[e], e))[:n]
    return [models.VocabularyTerm(id=e, type=cands.info[e].type, name=cands.info[e].name,
                                  name_en=cands.info[e].name_en) for e in chosen]
