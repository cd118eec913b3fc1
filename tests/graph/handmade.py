"""A small hand-made BuiltGraph (three programs, six directions, a few entities) for fast query tests.

Built with the real pipeline pieces (``graph.build.base_graph`` over loader records, the real lexical
encoder and ``embeddings.scoring.direction_vectors``); only the entity layer is written by hand here.
"""

from __future__ import annotations

from fundgraph.embeddings.encoders import LexicalEncoder
from fundgraph.embeddings.lexicon import Lexicon, Term
from fundgraph.embeddings.scoring import ScoringConfig, direction_vectors
from fundgraph.graph.build.pipeline import base_graph
from fundgraph.graph.model import ENTITY_TYPES, Rel, direction_id
from fundgraph.graph.stores.base import BuiltGraph
from fundgraph.loaders.records import Category, Direction, ParsedDocument, Program, SourceSpan

PROGRAMS = [
    ("prog-a", "甲项目", "Program A"),
    ("prog-b", "乙项目", "Program B"),
    ("prog-c", "丙项目", "Program C"),
]

# (program, code, title, content, category)
DIRECTIONS = [
    (
        "prog-a",
        "（一）",
        "阿尔茨海默病早期影像诊断",
        "基于磁共振与正电子发射断层成像的阿尔茨海默病早期诊断",
        Category.KEY_TECHNOLOGY,
    ),
    ("prog-a", "（二）", "深海探测装备", "深海探测与极地观测装备研制", Category.BASIC_RESEARCH),
    (
        "prog-b",
        "1.1",
        "阿尔茨海默病多模态影像大模型",
        "利用大模型分析磁共振影像，实现阿尔茨海默病预测",
        Category.KEY_TECHNOLOGY,
    ),
    ("prog-b", "1.2", "肺癌CT筛查", "低剂量CT肺癌筛查与联邦学习", Category.APPLICATION_DEMO),
    ("prog-c", "YX01", "肺癌影像组学", "基于CT影像组学的肺癌预后预测", None),
    ("prog-c", "YX02", "量子计算", "量子计算芯片", None),
]

ENTITIES = [
    (
        "disease",
        "alzheimer",
        "阿尔茨海默病",
        "Alzheimer's disease",
        {"icd10": "G30", "synonyms": ["AD", "阿尔兹海默病"]},
    ),
    ("disease", "lung-cancer", "肺癌", "lung cancer", {"icd10": "C34", "synonyms": []}),
    (
        "disease",
        "neurodegenerative",
        "神经退行性疾病",
        "neurodegenerative disease",
        {"no_code_reason": "group spanning several ICD-10 chapters", "synonyms": []},
    ),
    (
        "modality",
        "MR",
        "磁共振",
        "magnetic resonance imaging",
        {"dicom": "MR", "synonyms": ["MRI", "核磁共振"]},
    ),
    (
        "modality",
        "PT",
        "正电子发射断层成像",
        "positron emission tomography",
        {"dicom": "PT", "synonyms": ["PET"]},
    ),
    ("modality", "CT", "CT", "computed tomography", {"dicom": "CT", "synonyms": ["计算机断层扫描"]}),
    ("technique", "foundation-model", "大模型", "foundation models", {"synonyms": ["基础模型"]}),
    ("technique", "federated-learning", "联邦学习", "federated learning", {"synonyms": []}),
    ("keyword", "影像组学", "影像组学", "radiomics", {"synonyms": []}),
]


def _docs() -> list[ParsedDocument]:
    docs = []
    for pid, name, name_en in PROGRAMS:
        prog = Program(
            id=pid,
            name=name,
            name_en=name_en,
            funder=["科学技术部"],
            funder_en=["Ministry of Science"],
            year=2024,
            source_file=f"{pid}.txt",
            profile="test",
        )
        dirs = []
        for i, (p, code, title, content, cat) in enumerate([d for d in DIRECTIONS if d[0] == pid], start=1):
            dirs.append(
                Direction(
                    id=direction_id(p, code),
                    program_id=p,
                    code=code,
                    ordinal=i,
                    title=title,
                    category=cat,
                    category_raw=None,
                    content=content,
                    keywords=["影像"],
                    source=SourceSpan(file=f"{pid}.txt", start=i * 100, end=i * 100 + 90, line=i),
                )
            )
        docs.append(ParsedDocument(program=prog, sections=[], directions=dirs))
    return docs


def handmade_built() -> BuiltGraph:
    """The hand-made graph, with vectors from the real lexical encoder."""
    docs = _docs()
    g = base_graph(docs)
    terms = []
    for et, key, name, name_en, props in ENTITIES:
        eid = f"{et}:{key}"
        g.add_node(eid, id=eid, label=ENTITY_TYPES[et].value, name=name, name_en=name_en, **props)
        terms.append(Term(eid, et, name, name_en, tuple(props.get("synonyms") or ())))
    g.add_edge(
        "disease:alzheimer", "disease:neurodegenerative", key=Rel.MEMBER_OF.value, type=Rel.MEMBER_OF.value
    )
    directions = [d for doc in docs for d in doc.directions]
    for d in directions:
        for et, key, name, _en, _p in ENTITIES:
            eid = f"{et}:{key}"
            for fld in ("title", "content"):
                text = getattr(d, fld) or ""
                pos = text.find(name)
                if pos >= 0:
                    g.add_edge(
                        d.id,
                        eid,
                        key=f"{Rel.MENTIONS.value}:{fld}",
                        type=Rel.MENTIONS.value,
                        field=fld,
                        snippet=text,
                        start=d.source.start + pos,
                        end=d.source.start + pos + len(name),
                        count=1,
                        weight=1.0 if fld == "title" else 0.6,
                        boilerplate=False,
                    )
    g.add_edge(
        "prog-a:1",
        "prog-b:1.1",
        key=Rel.SIMILAR_TO.value,
        type=Rel.SIMILAR_TO.value,
        score=0.8,
        text_score=0.7,
        entity_score=0.9,
        summary="Shares diseases",
        shared_diseases=["阿尔茨海默病"],
    )
    lexicon = Lexicon.from_terms(terms)
    texts = [f"{d.title} {d.content}" for d in directions]
    enc = LexicalEncoder(lexicon).fit(texts)
    config = ScoringConfig()
    vectors = direction_vectors(enc, [{"title": d.title, "content": d.content} for d in directions], config)
    return BuiltGraph(
        graph=g,
        direction_ids=[d.id for d in directions],
        vectors=vectors,
        encoder_state=enc.state(),
        meta={
            "built_at": "2026-01-01T00:00:00+00:00",
            "encoder": "lexical",
            "programs": [p[0] for p in PROGRAMS],
            "similar_threshold": 0.25,
            "scoring": config.state(),
        },
    )
