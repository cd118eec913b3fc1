"""Free-text search as both stores answer it: what the text names, which directions are results, why none.

A result must show evidence (:data:`SEARCH_RULE`): a vocabulary entity or keyword it shares with the text, or a
text similarity of at least :data:`MIN_TEXT_SCORE`. Directions with neither are taken out of the candidates
*before* ranking, so the k returned are the k best with evidence (fewer when fewer have any), scored exactly as
:func:`fundgraph.embeddings.scoring.rank` scores them. An empty answer says why and suggests vocabulary terms.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fundgraph.embeddings import vectors as vx
from fundgraph.embeddings.english import words
from fundgraph.embeddings.scoring import (
    Candidates,
    Scored,
    ScoringConfig,
    candidate_margin,
    combine,
    query_entities,
    query_matches,
    rescore_selections,
)
from fundgraph.embeddings.similarity import idf_profile
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
#: A search's first product leaves out the text's lightest features, up to this much of any cosine (their weights
#: times their largest postings): at 100,000 directions it reads 36% of the postings (1.0 → 0.4 ms), and keeps
#: ~150 rows to score exactly instead of ~85 (0.05 ms more); 0.01 read 76%, 0.03 51%.
PRUNED_WEIGHT = 0.05
#: More rows than this to score exactly after a pruned product (few rows sure to have evidence): the full one.
PRUNED_CANDIDATES = 2000
#: How far below the best approximate text the first scan of :func:`_reachable` reaches.
REACH_SCAN = 0.15


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
    entities = query_entities(text, lexicon, cands, matches=named)
    pool = cands if pool is None else pool
    # No entity gate for free text: a few words have a low cosine with any direction (none at all for English
    # words the lexicon maps only to entities), and the evidence rule already demands a shared word or entity.
    config = context.config.with_(entity_gate=0.0)
    # One product of the text and its entities with every candidate serves both the evidence and the ranking;
    # only the few candidates that may be in the best k are scored exactly and explained (scoring.rescore).
    q = vx.as_query(vector)
    depth = context.depth(k)  # the word mix's pool, when it mixes
    finalists, exact, entity_scores = _finalists(pool, q, entities, programs, config, depth)
    ranked: list[Scored] = []
    if finalists.size:
        # rescore(q, entities, finalists, pool, config, k=depth, text=exact), with no profile read for the
        # finalists that share no entity with the text (their overlap is 0 whatever their profile).
        (ranked,) = rescore_selections(entities, finalists, exact, pool, config, [(None, depth, None)],
                                       _Profiles(pool, entity_scores))
        ranked = context.mixed(ranked, context.text_words(text) if context.mixing else None, pool, k)
    terms = [models.QueryTerm(**_term(eid, lexicon, cands), matched=m) for eid, m in named.items()]
    if ranked:
        cited = frozenset(named)
        return models.SearchResults(items=[marks.mark_new(item(s), cited) for s in ranked], rule=SEARCH_RULE,
                                    query_entities=terms)
    return models.SearchResults(items=[], rule=SEARCH_RULE, query_entities=terms,
                                reason=_reason(terms, programs), suggestions=suggest(text, cands))


def _finalists(pool: Candidates, q: np.ndarray, entities: dict[str, float], programs: Sequence[str] | None,
               config: ScoringConfig, k: int) -> tuple[np.ndarray, np.ndarray, Any]:
    """The rows of ``pool`` with evidence that may be in the best ``k``, their exact cosines, and the entity products.

    Evidence: an entity of the query's profile that the row's profile holds too (with a non-zero rarity weight, so
    that the explanation names it: exactly the rows whose entity product is > 0, every weight being >= 0), or a
    text similarity ≥ :data:`MIN_TEXT_SCORE` as the result shows it (:func:`vectors.cosines` rounded to 6
    decimals). The first product leaves out the text's lightest features (:meth:`Candidates.pruned_products`, at
    most :data:`PRUNED_WEIGHT` of any cosine: a third of the postings read at 100,000 directions), so each
    row's cosine is known within an interval; the rows whose interval may reach the k-th best of the rows sure to
    have evidence are kept (some 150 at 100,000 directions; :func:`_shortlist`), their exact cosines decide their
    evidence, and with the float64 entity products those within the rounding margin of the k-th are the
    finalists (about k): the only ones whose entity overlaps are computed and explained. The same k, in the same
    order, as :func:`rescore` of every row with evidence (it scores each row on its own).
    """
    if k < 1 or not pool.ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0), 0.0
    for slack in (PRUNED_WEIGHT, 0.0):
        text, spread, entity = pool.pruned_products(q, entities, slack)
        chosen, sure = _shortlist(pool, text, spread, entity, programs, config, k)
        if spread == 0 or chosen.size <= PRUNED_CANDIDATES:
            break  # else few rows are sure to have evidence, and too many may: the full product narrows them
    exact = vx.cosines(pool.vectors, chosen, q)
    has = sure | (np.round(exact, 6) >= MIN_TEXT_SCORE)
    chosen, exact = chosen[has], exact[has]
    if chosen.size > k:
        # The exact text scores rounded as rescore rounds them; the float64 entity products are within 1e-9 of
        # the overlaps rescore computes (sums of a few products of unit rows); each score is rounded to 6 decimals.
        near = combine(np.round(exact, 6), entity[chosen] if np.ndim(entity) else entity, config)
        final = np.flatnonzero(near >= _kth(near, k) - (2 * (config.lipschitz * 1e-9 + 1e-6) + 1e-5))
        chosen, exact = chosen[final], exact[final]
        if chosen.size > k:
            final = _first_of_equals(pool, chosen, exact, entity, k)
            chosen, exact = chosen[final], exact[final]
    return chosen, exact, entity


def _first_of_equals(pool: Candidates, rows: np.ndarray, exact: np.ndarray, entity: Any, k: int) -> np.ndarray:
    """Positions of ``rows`` less the rows that an equal row with a smaller id keeps out of the best ``k``.

    Rows with the same exact cosine and the same entity profile (a recombined corpus repeats titles; a series'
    editions repeat a direction) have the same score whatever it is, so of each such group only the k with the
    smallest ids can be in the best k (ties are broken by id). Some 70 finalists per search were such groups at
    100,000 directions; each is otherwise scored and sorted. The entity products are compared too (they decide
    whether a profile is read, :class:`_Profiles`). Without the profiles as one matrix: all.
    """
    matrix = getattr(pool.entities, "matrix", None)
    if matrix is None:
        return np.arange(rows.size)
    starts, ends = matrix.indptr[rows].tolist(), matrix.indptr[rows + 1].tolist()
    products = (entity[rows] if np.ndim(entity) else np.zeros(rows.size)).tolist()
    groups: dict[tuple[float, float, bytes, bytes], list[tuple[str, int]]] = {}
    for at, (row, t, e, lo, hi) in enumerate(zip(rows.tolist(), exact.tolist(), products, starts, ends, strict=True)):
        key = (t, e, matrix.indices[lo:hi].tobytes(), matrix.data[lo:hi].tobytes())
        groups.setdefault(key, []).append((pool.ids[row], at))
    if len(groups) == rows.size:
        return np.arange(rows.size)
    return np.sort([at for members in groups.values() for _id, at in sorted(members)[:k]])


def _shortlist(pool: Candidates, text: np.ndarray, spread: float, entity: Any, programs: Sequence[str] | None,
               config: ScoringConfig, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows that may have evidence and be in the best ``k``, and which of them are sure to have evidence.

    ``text`` (approximate, within ``pool.text_error``) and ``text + spread`` bound each row's cosine, so it is
    within ``δ = spread / 2 + text_error`` of the middle; a row in the exact best k is within
    :func:`candidate_margin` (with that δ) of the k-th best middle score among the rows sure to have evidence
    (or of any lower bound of it: the k-th best of some of them).
    """
    err = pool.text_error + 1e-6
    margin = candidate_margin(pool.vectors, config, error=pool.text_error + spread / 2)
    rows = _reachable(pool, text, spread, entity, programs, config, k, err, margin)
    ents = entity[rows] if np.ndim(entity) else entity
    t = text[rows]
    sure = (ents > 0) | (t >= MIN_TEXT_SCORE + err)
    maybe = np.flatnonzero(sure | (t > MIN_TEXT_SCORE - err - spread))
    rows, sure, t = rows[maybe], sure[maybe], t[maybe]
    middle = combine(t + spread / 2, ents[maybe] if np.ndim(ents) else ents, config)
    keep = np.flatnonzero(middle >= _kth(middle[sure], k) - margin)
    return rows[keep], sure[keep]


def _reachable(pool: Candidates, text: np.ndarray, spread: float, entity: Any, programs: Sequence[str] | None,
               config: ScoringConfig, k: int, err: float, margin: float) -> np.ndarray:
    """The rows (of ``programs``) whose text is high enough for them to be kept by :func:`_shortlist`.

    Without the entity gate, a middle score is at most ``text_weight · (text + spread / 2) + entity_weight · 1``;
    the k-th best middle score of the rows near the best text that are sure to have evidence is a lower bound of
    the one :func:`_shortlist` keeps rows by, so a row whose text cannot reach it less the margin is left out
    by one comparison over every row (most rows, at 100,000 directions: the gathers after it read ~1% of them).
    """
    n = len(pool.ids)
    allowed = None
    if programs:
        codes, names = pool.program_codes
        allowed = np.isin(codes, [names[p] for p in programs if p in names])
    if n and config.entity_gate == 0 and config.text_weight > 0 and config.entity_weight >= 0:
        top = float(text.max())
        # One pass over every row finds both the head and, most often, the rows kept: they are within
        # REACH_SCAN of the best text in ~90% of searches at 100,000 directions (within 0.05 in half).
        near = np.flatnonzero(text >= top - REACH_SCAN)
        # The head: the rows within 0.05 of the best text, else (fewer than k of them sure to have evidence) those
        # within REACH_SCAN: any k rows sure to have evidence give a lower bound. A few best texts far above the
        # rest otherwise sent every row on to _shortlist (0.5 ms more; 肺癌低剂量CT筛查与人工智能辅助诊断 at 100,000
        # directions: 100,000 rows → 7,520, the same shortlist).
        for head in (near[text[near] >= top - 0.05], near):
            if allowed is not None:
                head = head[allowed[head]]
            ents = entity[head] if np.ndim(entity) else entity
            sure = head[(ents > 0) | (text[head] >= MIN_TEXT_SCORE + err)]
            if sure.size >= k:
                bound = _kth(combine(text[sure] + spread / 2, entity[sure] if np.ndim(entity) else entity, config),
                             k)
                most = 1.0 if np.ndim(entity) else float(entity)
                lowest = (bound - margin - config.entity_weight * most) / config.text_weight - spread / 2 - 1e-9
                rows = near[text[near] >= lowest] if lowest >= top - REACH_SCAN else np.flatnonzero(text >= lowest)
                return rows if allowed is None else rows[allowed[rows]]
    return np.arange(n) if allowed is None else np.flatnonzero(allowed)


def _kth(scores: np.ndarray, k: int) -> float:
    """The k-th best of ``scores`` (-inf when fewer than k).

    Taken among the scores near the best when k of them are (a search's scores fall off fast): a partition of
    those few instead of all (0.2 ms for 30,000 scores at 100,000 directions).
    """
    if scores.size < max(k, 1):
        return -np.inf
    top = float(scores.max())
    near = scores[scores >= top - 0.05]
    if near.size < k:  # the k best are not all among them
        near = scores
    return float(np.partition(near, near.size - k)[near.size - k])


class _Profiles:
    """Row → :func:`similarity.idf_profile` of the row's entities, or an empty one when it shares none with the query.

    A row whose entity product with the query is 0 shares no weighted entity with it, so its overlap is
    ``(0.0, {})`` with its own profile or with an empty one (:func:`similarity.profile_overlap`); reading and
    weighting its profile is skipped.
    """

    def __init__(self, pool: Candidates, entity: Any) -> None:
        self.pool = pool
        self.entity = entity if np.ndim(entity) else None
        # The embedded store's profiles are rows of one sparse matrix: read straight from its arrays.
        self.matrix = getattr(pool.entities, "matrix", None)
        self.entity_ids = getattr(pool.entities, "entity_ids", None)
        self.seen: dict[bytes, tuple[dict[str, float], float]] = {}

    def __getitem__(self, row: int) -> tuple[dict[str, float], float]:
        if self.entity is None or self.entity[row] == 0:
            return {}, 0.0
        if self.matrix is None or self.entity_ids is None:
            return idf_profile(self.pool.entities[row], self.pool.idf)
        # idf_profile(pool.entities[row], pool.idf) without the intermediate profile: the same products, in the
        # same (column) order.
        m, ids, idf = self.matrix, self.entity_ids, self.pool.idf
        lo, hi = m.indptr[row : row + 2].tolist()
        columns, values = m.indices[lo:hi], m.data[lo:hi]
        # Rows with the same profile (a series' editions, a recombined corpus) get the same object, so that
        # rescore_selections overlaps it with the query once.
        key = columns.tobytes() + values.tobytes()
        made = self.seen.get(key)
        if made is None:
            weighted: dict[str, float] = {}
            for c, w in zip(columns.tolist(), values.tolist(), strict=True):
                e = ids[c]
                weighted[e] = w * idf.get(e, 0.0)
            made = self.seen[key] = (weighted, math.sqrt(sum(x * x for x in weighted.values())))
        return made


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


def _vocabulary(cands: Candidates) -> tuple[dict[str, int], list[tuple[str, list[str]]]]:
    """How many candidates cite each entity, and the lower-cased name tokens of the cited non-keyword entities.

    Made once per candidates (they live as long as the graph a store serves): counting walks every profile.
    """
    made = getattr(cands, "_vocabulary", None)
    if made is not None:
        return made
    matrix = getattr(cands.entities, "matrix", None)
    entity_ids = getattr(cands.entities, "entity_ids", None)
    if cands.cited is not None:  # the graph's counts (the Neo4j store's, made at load)
        cited = cands.cited
    elif matrix is not None and entity_ids is not None:  # the profiles as one sparse matrix: count its columns
        counts = np.bincount(np.asarray(matrix.indices), minlength=len(entity_ids)).tolist()
        cited = {e: c for e, c in zip(entity_ids, counts, strict=True) if c}
    else:
        cited = {}
        for profile in cands.entities:
            for e in profile:
                cited[e] = cited.get(e, 0) + 1
    names = [(eid, [t.lower() for t in (info.name, *(w for _, w in words(info.name_en)))])
             for eid, info in cands.info.items() if eid in cited and info.type != "keyword"]
    cands._vocabulary = made = (cited, names)
    return made


def suggest(text: str, cands: Candidates, *, n: int = SUGGESTIONS) -> list[models.VocabularyTerm]:
    """Vocabulary terms of the corpus to search for instead of ``text``.

    Those whose Chinese or English names come closest to the text's words (difflib ratio ≥ 0.6), else the most
    cited ones of the scored types (the directions cite them most).
    """
    cited, names = _vocabulary(cands)
    query = [w.lower() for w in [*(w for _, w in words(text)), *re.findall(r"[\u4e00-\u9fff]{2,}", text)]]
    scored: list[tuple[float, int, str]] = []
    for eid, tokens in names:
        best = 0.0
        for t in tokens:
            matcher = difflib.SequenceMatcher(None, "", t)
            for q in query:
                matcher.set_seq1(q)
                # ratio() ≤ quick_ratio() ≤ real_quick_ratio(): the cheap bounds skip most pairs, same result.
                if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
                    best = max(best, matcher.ratio())
        if best >= 0.6:
            scored.append((best, cited[eid], eid))
    if scored:
        chosen = [e for _, _, e in sorted(scored, key=lambda s: (-s[0], -s[1], s[2]))[:n]]
    else:
        chosen = sorted((e for e in cited if e in cands.info and cands.info[e].type != "keyword"),
                        key=lambda e: (-cited[e], e))[:n]
    return [models.VocabularyTerm(id=e, type=cands.info[e].type, name=cands.info[e].name,
                                  name_en=cands.info[e].name_en) for e in chosen]
