"""Seeded generator of a synthetic guideline corpus of any size, for scale benchmarks.

    python benchmarks/gen_corpus.py --directions 1000 --out /tmp/corpus-1k
    FUNDGRAPH_MANIFEST=/tmp/corpus-1k/manifest.yaml PYTHONPATH=$PWD python -m fundgraph.cli build

The bundled corpus is parsed with the real loaders; each new direction is recombined from its sentences:
a *seed* direction gives the title and most content/metrics sentences, a few sentences and keywords come
from other directions, so vocabulary and entity frequencies stay those of the real corpus. Documents are
written in the five layouts the parser profiles read (``nsfc_enumerated``, ``most_categorised``,
``most_fields_markdown``, ``most_tasks``, ``gd_joint_fund``) and grouped in program series with one to
four yearly editions; a later edition carries about half of its directions over from the previous one
(same seed, resampled sentences) so lineage (CONTINUES) has real work. The manifest lists the documents
in a stable order; the parsed direction count equals ``--directions`` exactly (checked with ``--check``).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fundgraph.core.paths import MANIFEST_PATH
from fundgraph.loaders.corpus import load_corpus
from fundgraph.loaders.text import to_chinese_numeral

LAYOUTS = ("nsfc_enumerated", "most_categorised", "most_fields_markdown", "most_tasks", "gd_joint_fund")
# Real corpus: 14–55 directions per document.
DIRS_PER_DOC = (12, 45)
CARRY_OVER = 0.5
FUNDERS = {
    "nsfc_enumerated": (["国家自然科学基金委员会"], ["National Natural Science Foundation of China"]),
    "most_categorised": (["科学技术部"], ["Ministry of Science and Technology"]),
    "most_fields_markdown": (["科学技术部"], ["Ministry of Science and Technology"]),
    "most_tasks": (["科学技术部"], ["Ministry of Science and Technology"]),
    "gd_joint_fund": (["广东省基础与应用基础研究基金委员会"],
                      ["Guangdong Basic and Applied Basic Research Foundation Committee"]),
}
CATEGORIES = ("基础研究类", "共性关键技术类", "应用示范类")
GROUPS = ("重点攻关类", "常规支持类")
_LEAD = re.compile(r"^(?:[\s\d.、()（）\-—－·•]|[一二三四五六七八九十]+、)+")


@dataclass
class Seed:
    """What a bundled direction lends to the synthetic ones."""

    title: str
    content: list[str]
    metrics: list[str]
    keywords: list[str]
    disciplines: list[str]


@dataclass
class Pools:
    """Sentence, keyword, discipline and section-title pools of the bundled corpus."""

    seeds: list[Seed]
    content: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    disciplines: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)


def sentences(text: str | None) -> list[str]:
    """Sentences of a field (split after 。；), each safe to start a line (no list marker or number)."""
    out = []
    for s in re.split(r"(?<=[。；;])", text or ""):
        s = _LEAD.sub("", s.replace("\n", "")).strip()
        if len(s) >= 6 and "申报代码" not in s:
            out.append(s)
    return out


def bundled_pools(manifest: Path = MANIFEST_PATH) -> Pools:
    """Parse the bundled corpus and collect what the generator recombines."""
    pools = Pools(seeds=[])
    for doc in load_corpus(manifest):
        pools.sections += [s.title for s in doc.sections if 2 <= len(s.title) <= 28 and "。" not in s.title]
        for d in doc.directions:
            title = d.title.replace("。", "").strip()
            seed = Seed(title, sentences(d.content), sentences(d.metrics), list(d.keywords), list(d.disciplines))
            if not seed.content:
                seed.content = [f"围绕{title}开展研究。"]
            pools.seeds.append(seed)
            pools.content += seed.content
            pools.metrics += seed.metrics
            pools.keywords += seed.keywords
            pools.disciplines += seed.disciplines
    return pools


@dataclass
class Item:
    """One synthetic direction."""

    seed: int
    title: str
    content: str
    metrics: str
    keywords: list[str]
    disciplines: list[str]


def make_item(rng: random.Random, pools: Pools, seed: int) -> Item:
    """A direction from a seed: most sentences of the seed, a few borrowed ones, keywords alike."""
    s = pools.seeds[seed]
    own = rng.sample(s.content, k=max(1, min(len(s.content), rng.randint(2, 5))))
    content = own + rng.sample(pools.content, k=rng.randint(0, 2))
    metrics_own = rng.sample(s.metrics, k=min(len(s.metrics), rng.randint(1, 3))) if s.metrics else []
    metrics = metrics_own + rng.sample(pools.metrics, k=rng.randint(1, 2) if not metrics_own else 0)
    kws = list(dict.fromkeys(s.keywords[: rng.randint(2, 6)] + rng.sample(pools.keywords, k=rng.randint(1, 3))))
    disc = s.disciplines[:2] or rng.sample(pools.disciplines, k=rng.randint(1, 2))
    return Item(seed, s.title, "".join(content), "".join(metrics), kws, list(dict.fromkeys(disc)))


def _chunks(rng: random.Random, items: list[Item], lo: int, hi: int) -> list[list[Item]]:
    out, i = [], 0
    while i < len(items):
        n = rng.randint(lo, hi)
        out.append(items[i : i + n])
        i += n
    return out


def render(layout: str, name: str, year: int, items: list[Item], rng: random.Random, pools: Pools) -> str:
    """The text of one document in ``layout``."""
    intro = f"{name}\n\n为落实有关部署，现发布{year}年度项目申报指南。本指南由合成语料生成器产生，用于规模测试。\n\n"
    lines: list[str] = [intro]
    if layout == "nsfc_enumerated":
        lines += ["一、科学目标\n", "围绕交叉融合开展研究。\n", "二、资助研究方向\n",
                  "本专项项目拟资助以下研究方向：\n"]
        for k, it in enumerate(items, start=1):
            lines.append(f"（{to_chinese_numeral(k)}）{it.title}。\n")
            lines.append(f"{it.content}\n")
            if rng.random() < 0.2:
                lines.append("（注：本项目拟资助经费300万元。）\n")
        lines += ["三、申请要求\n", "每项200万元，资助期限为4年。\n"]
    elif layout == "most_categorised":
        n = 0
        for g, chunk in enumerate(_chunks(rng, items, 4, 20)):
            lines.append(f"{GROUPS[g % 2]}：\n\n")
            for it in chunk:
                n += 1
                lines.append(f"{n}. {it.title}\n\n研究内容：{it.content}\n\n考核指标：{it.metrics}\n\n")
                if rng.random() < 0.7:
                    lines.append(f"关键词：{'；'.join(it.keywords)}\n\n")
    elif layout == "most_fields_markdown":
        lines.append("## 二、领域和方向\n\n")
        for s, chunk in enumerate(_chunks(rng, items, 3, 10), start=1):
            lines.append(f"## {s}.{rng.choice(pools.sections)}\n\n")
            for m, it in enumerate(chunk, start=1):
                cat = rng.choice(CATEGORIES)
                lines.append(f"### {s}.{m} {it.title}（{cat}）\n\n研究内容：{it.content}\n\n"
                             f"考核指标：{it.metrics}\n\n关键词：{'；'.join(it.keywords)}\n\n")
    elif layout == "most_tasks":
        for s, chunk in enumerate(_chunks(rng, items, 3, 9), start=1):
            lines.append(f"{s}. {rng.choice(pools.sections)}\n\n")
            for m, it in enumerate(chunk, start=1):
                lines.append(f"{s}.{m} {it.title}\n\n研究内容：{it.content}\n\n考核指标：{it.metrics}\n\n")
    elif layout == "gd_joint_fund":
        lines += ["二、申报要求\n\n", "（一）重点项目\n\n", "项目资助强度为 50万元/项，实施周期为 3年。\n\n",
                  "（二）面上项目\n\n", "项目资助强度为 20万元/项，实施周期为 3年。\n\n", "四、申报方向和要求\n\n"]
        topics = _chunks(rng, items, 3, 8)[:99]
        coded: list[tuple[int, list[tuple[str, str, Item]]]] = []
        for t, chunk in enumerate(topics, start=1):
            n_key = max(1, len(chunk) // 3)
            rows = [(("YXB" if i < n_key else "YXA") + f"{t:02d}{(i if i < n_key else i - n_key) + 1:02d}",
                     "重点项目" if i < n_key else "面上项目", it) for i, it in enumerate(chunk)]
            coded.append((t, rows))
        lines.append("表 1 研究方向总览表\n\n")
        k = 0
        for _t, rows in coded:
            for code, _support, it in rows:
                k += 1
                lines.append(f"{(k - 1) % 99 + 1}.{it.title} {code} {'、'.join(it.disciplines)}\n\n")
        for t, rows in coded:
            lines.append(f"专题{to_chinese_numeral(t)}：{rng.choice(pools.sections)}\n\n")
            lines.append(f"本专题设置研究方向 {len(rows)} 个。\n\n")
            for support, head in (("重点项目", "（一）重点项目"), ("面上项目", "（二）面上项目")):
                part = [r for r in rows if r[1] == support]
                if not part:
                    continue
                lines.append(f"{head}\n\n")
                for i, (code, _s, it) in enumerate(part, start=1):
                    lines.append(f"{i}. {it.title}（申报代码：{code}，学科代码：{'、'.join(it.disciplines)}）\n\n")
                    if support == "重点项目" or rng.random() < 0.3:
                        lines.append(f"{it.content}\n\n")
    else:
        raise ValueError(f"unknown layout {layout}")
    return "".join(lines)


def capacity(layout: str) -> int:
    """Most directions one document of a layout may hold (two-digit numbering)."""
    return 99 if layout in ("most_categorised", "nsfc_enumerated") else DIRS_PER_DOC[1]


def generate(n_directions: int, out: Path, *, seed: int = 0, pools: Pools | None = None) -> list[dict]:
    """Write ``out/guidelines/*.txt`` and ``out/manifest.yaml`` with exactly ``n_directions`` directions."""
    rng = random.Random(seed)
    pools = pools or bundled_pools()
    (out / "guidelines").mkdir(parents=True, exist_ok=True)
    entries: list[dict] = []
    remaining = n_directions
    series_no = 0
    while remaining > 0:
        series_no += 1
        layout = LAYOUTS[series_no % len(LAYOUTS)]
        base = rng.choice(pools.sections)
        series = f"{base}重点专项（合成{series_no:05d}）"
        editions = rng.choice((1, 2, 2, 3, 4))
        year = rng.randint(2016, 2022)
        prev: list[int] = []
        for e in range(editions):
            if remaining <= 0:
                break
            n = min(remaining, rng.randint(*DIRS_PER_DOC), capacity(layout))
            carried = rng.sample(prev, k=min(len(prev), int(n * CARRY_OVER)))
            fresh = [rng.randrange(len(pools.seeds)) for _ in range(n - len(carried))]
            seeds = carried + fresh
            rng.shuffle(seeds)
            items = [make_item(rng, pools, s) for s in seeds]
            pid = f"syn-{series_no:05d}-{year + e}"
            name = f"{series} {year + e}年度项目申报指南"
            file = f"{pid}.txt"
            (out / "guidelines" / file).write_text(render(layout, name, year + e, items, rng, pools), encoding="utf-8")
            funder, funder_en = FUNDERS[layout]
            entries.append({
                "id": pid, "name": name, "name_en": f"Synthetic series {series_no}, {year + e} call",
                "funder": funder, "funder_en": funder_en, "series": series,
                "series_en": f"Synthetic series {series_no}", "year": year + e, "status": None,
                "status_en": None, "file": file, "profile": layout,
            })
            remaining -= n
            prev = seeds
    (out / "manifest.yaml").write_text(
        yaml.safe_dump({"documents": entries}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return entries


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--directions", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="parse the result and check the direction count")
    args = ap.parse_args(argv)
    entries = generate(args.directions, args.out, seed=args.seed)
    print(f"{len(entries)} documents, {args.directions} directions → {args.out / 'manifest.yaml'}")
    if args.check:
        docs = load_corpus(args.out / "manifest.yaml")
        parsed = sum(len(d.directions) for d in docs)
        series = {d.program.series for d in docs}
        print(f"parsed {parsed} directions in {len(docs)} documents, {len(series)} series; "
              f"layouts: {sorted({d.program.profile for d in docs})}")
        if parsed != args.directions:
            print(f"MISMATCH: parsed {parsed} != {args.directions}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
