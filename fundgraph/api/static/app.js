/* fundgraph dashboard: plain JS over the JSON API under /api (see /docs). No build step.
 *
 * Views (hash routes):
 *   #/                      programs and the program × entity overlap heatmap
 *   #/search?q=…&program=…  free-text search (POST /api/search) with scores and explanations
 *   #/direction/<id>        a direction: fields, entities with codes and evidence, similar directions
 *   #/graph/<node>?depth=…  neighbourhood graph (cytoscape.js, vendored from npm)
 */
(function () {
  "use strict";

  const API = "api";
  const state = { programs: [], programById: {}, cy: null, matrix: null };
  // Exposed for the browser test and for analysts poking at the page from the console.
  window.fundgraph = state;

  // Bilingual labels for entity groups, fields and node labels. Entity groups, node names and colours come
  // from GET /api/schema (the schema registry) at start-up: see applySchema.
  const GROUPS = {};
  const FIELDS = {
    title: "标题 Title", content: "研究内容 Content", metrics: "考核指标 Metrics", keywords: "所列关键词 Keywords as listed",
    notes: "说明 Notes", category: "类别 Category", support_type: "支持方式 Support type",
    section_title: "所属任务/领域 Section", application_code: "申请代码 Application code",
    disciplines: "学科代码 Disciplines", funding: "资助 Funding", source: "来源 Source", community: "主题社区 Community",
  };
  const CATEGORIES = {
    key_technology: "共性关键技术 Key technology", basic_research: "基础研究 Basic research",
    application_demo: "应用示范 Application demo", key_challenge: "重点攻关 Key challenge",
    regular: "常规支持 Regular", young_scientist: "青年科学家 Young scientist",
    key_project: "重点项目 Key project", general_project: "面上项目 General project",
    cross_key_project: "交叉重点专项 Cross-disciplinary key project",
  };
  // How a direction's link to an entity was found (EntityRef.found_by); vocabulary matches carry no badge.
  const FOUND_BY = {
    extracted_keyword: ["抽取 extracted", "picked from the text by the keyword extractor (the direction lists no 关键词)"],
    listed_keyword: ["所列 listed", "one of the direction's own 关键词"],
    application_code: ["申请代码 code", "an NSFC code of the direction's 申请代码"],
  };
  const NODE_COLORS = {};
  const NODE_NAMES = {};
  const EDGE_COLORS = {
    SIMILAR_TO: "#e74c3c", CONTINUES: "#f39c12", MENTIONS: "#b0b7c3", HAS_DIRECTION: "#1f4e79",
    IN_COMMUNITY: "#c0392b",
  };

  // -- helpers ----------------------------------------------------------------------------------------------
  const $ = (sel) => document.querySelector(sel);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function bi(zh, en) {
    // A bilingual label: Chinese first, English beside it where we have it and it differs.
    const wrap = el("span", { class: "bi" }, el("span", { class: "zh" }, zh || en || ""));
    if (en && en !== zh) wrap.append(" ", el("span", { class: "en" }, en));
    return wrap;
  }

  function setStatus(msg, kind) {
    const s = $("#status");
    s.textContent = msg || "";
    s.className = "status" + (kind ? " " + kind : "");
  }

  async function api(path, opts) {
    const res = await fetch(API + path, opts);
    let body = null;
    try { body = await res.json(); } catch (_e) { body = null; }
    if (!res.ok) {
      const e = (body && (body.error || body)) || {};
      const msg = e.message || (typeof e.detail === "string" ? e.detail : "") || res.statusText;
      throw new Error(`${res.status} ${msg}`);
    }
    return body;
  }

  function programLabel(pid) {
    const p = state.programById[pid];
    return p ? `${p.name_en || p.name}` : pid;
  }

  function directionLink(d) {
    return el("a", { href: `#/direction/${encodeURIComponent(d.id)}`, class: "dir-link", "data-id": d.id },
      el("span", { class: "code" }, d.code), " ", d.title);
  }

  function titleEn(d, attrs) {
    // The English title under the Chinese one (null for a document not yet translated).
    return d.title_en ? el("div", { class: "title-en", lang: "en", ...attrs }, d.title_en) : null;
  }

  function programBadge(pid) {
    const p = state.programById[pid];
    return el("span", { class: "badge prog", title: p ? `${p.name}\n${p.name_en}` : pid },
      p && p.year ? `${pid}` : pid);
  }

  function fmt(x, n) { return typeof x === "number" ? x.toFixed(n === undefined ? 2 : n) : "–"; }

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, "");
    const i = h.indexOf("?");
    const path = i < 0 ? h : h.slice(0, i);
    const params = new URLSearchParams(i < 0 ? "" : h.slice(i + 1));
    const [view, ...rest] = path.split("/");
    return { view: view || "overview", arg: decodeURIComponent(rest.join("/")), params };
  }

  function show(view) {
    for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== "view-" + view;
    for (const a of document.querySelectorAll(".tabs a[data-view]")) {
      a.classList.toggle("active", a.dataset.view === view);
    }
    document.body.dataset.view = view;
  }

  // -- overview ---------------------------------------------------------------------------------------------
  async function loadPrograms() {
    state.programs = await api("/programs");
    state.programById = Object.fromEntries(state.programs.map((p) => [p.id, p]));
    const sel = $("#search-program");
    for (const p of state.programs) sel.append(el("option", { value: p.id }, `${p.id}`));
    const box = $("#programs");
    box.replaceChildren(...state.programs.map((p) => el("article", { class: "card", "data-program": p.id },
      el("div", { class: "card-head" },
        el("span", { class: "count", title: "研究方向数 directions" }, p.direction_count),
        el("span", { class: "count-label" }, "研究方向", el("br"), "directions")),
      el("h3", {}, p.name),
      el("p", { class: "en" }, p.name_en),
      el("p", { class: "meta" },
        el("span", { class: "badge" }, p.year || "年份未注明 year n/a"),
        p.status ? el("span", { class: "badge warn" }, p.status) : null,
        el("span", { class: "badge prog" }, p.id)),
      el("p", { class: "funder" }, bi((p.funder || []).join("、"), (p.funder_en || []).join("; "))),
      el("p", { class: "actions" },
        el("a", { href: `#/graph/${encodeURIComponent(p.id)}?depth=1` }, "图谱 Graph →"),
        " ",
        el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); listDirections({ program: p.id }, p.name); } },
          "方向列表 Directions →")))));
    const total = state.programs.reduce((a, p) => a + p.direction_count, 0);
    $("#foot").textContent = `${state.programs.length} 个项目 programs · ${total} 个研究方向 directions`;
  }

  async function loadMatrix() {
    const by = $("#matrix-by").value;
    const top = Math.max(5, Math.min(80, parseInt($("#matrix-top").value, 10) || 30));
    const box = $("#heatmap");
    box.textContent = "…";
    const m = await api(`/overlaps/matrix?by=${encodeURIComponent(by)}`);
    state.matrix = m;
    $("#matrix-rule").title = m.rule;  // the counting rule, as the API states it
    // Columns: entities cited by the most programs first, then by the most directions.
    const cols = m.entities.map((e, j) => ({ e, j, total: m.counts.reduce((a, row) => a + row[j], 0) }))
      .filter((c) => c.total > 0)
      .sort((a, b) => (b.e.program_count - a.e.program_count) || (b.total - a.total))
      .slice(0, top);
    box.replaceChildren(drawHeatmap(m, cols));
    box.dataset.by = by;
    box.dataset.columns = String(cols.length);
  }

  function drawHeatmap(m, cols) {
    const NS = "http://www.w3.org/2000/svg";
    const cell = 26, left = 190, topPad = 150;
    const w = left + cols.length * cell + 10, h = topPad + m.programs.length * cell + 10;
    const max = Math.max(1, ...cols.flatMap((c) => m.counts.map((row) => row[c.j])));
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", w);
    svg.setAttribute("height", h);
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("class", "heatmap-svg");
    const mk = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text !== undefined) n.textContent = text;
      return n;
    };
    m.programs.forEach((pid, i) => {
      const t = mk("text", { x: left - 8, y: topPad + i * cell + cell * 0.65, "text-anchor": "end", class: "row-label" },
        pid);
      const p = state.programById[pid];
      t.append(mk("title", {}, p ? `${p.name}\n${p.name_en}` : pid));
      svg.append(t);
    });
    cols.forEach((c, k) => {
      const x = left + k * cell + cell / 2;
      const label = c.e.name.length > 14 ? c.e.name.slice(0, 13) + "…" : c.e.name;
      const t = mk("text", { x: 0, y: 0, transform: `translate(${x + 4},${topPad - 6}) rotate(-55)`, class: "col-label" },
        label);
      t.append(mk("title", {}, `${c.e.name} · ${c.e.name_en}\n${c.e.program_count} programs, ${c.e.direction_count} directions`));
      svg.append(t);
      m.programs.forEach((pid, i) => {
        const v = m.counts[i][c.j];
        const g = mk("g", { class: "cell" + (v ? " hit" : ""), "data-program": pid, "data-entity": c.e.id });
        const alpha = v ? 0.15 + 0.85 * (v / max) : 0;
        g.append(mk("rect", {
          x: left + k * cell + 1, y: topPad + i * cell + 1, width: cell - 2, height: cell - 2, rx: 3,
          fill: v ? `rgba(211, 84, 0, ${alpha.toFixed(3)})` : "#f3f4f6",
        }));
        if (v) {
          g.append(mk("text", { x: x, y: topPad + i * cell + cell * 0.66, "text-anchor": "middle",
            class: "cell-text" + (alpha > 0.55 ? " light" : "") }, String(v)));
        }
        g.append(mk("title", {}, `${pid} × ${c.e.name} (${c.e.name_en}): ${v} directions`));
        if (v) {
          g.addEventListener("click", () => {
            const type = m.by;
            listDirections({ program: pid, [type]: c.e.id }, `${pid} × ${c.e.name} ${c.e.name_en}`);
          });
        }
        svg.append(g);
      });
    });
    return svg;
  }

  async function listDirections(filters, title) {
    const box = $("#cell-directions");
    const qs = new URLSearchParams({ ...filters, limit: "200" });
    box.replaceChildren(el("p", {}, "…"));
    const page = await api(`/directions?${qs}`);
    box.replaceChildren(
      el("h3", {}, title, " ", el("small", {}, `(${page.total} 研究方向 directions)`)),
      el("ul", { class: "dir-list" }, page.items.map((d) => el("li", {}, programBadge(d.program_id), " ",
        directionLink(d), d.category ? el("span", { class: "badge cat" }, CATEGORIES[d.category] || d.category) : null,
        titleEn(d)))));
    box.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // -- search -----------------------------------------------------------------------------------------------
  function explanationView(x) {
    if (!x) return null;
    const shared = Object.entries(x.shared || {}).filter(([, v]) => v && v.length);
    return el("div", { class: "explanation" },
      el("span", { class: "metric", title: "text cosine" }, "文本 text ", fmt(x.text_score)),
      el("span", { class: "metric", title: "rarity-weighted shared entities" }, "实体 entities ", fmt(x.entity_score)),
      shared.map(([k, v]) => el("span", { class: "shared" }, el("b", {}, (GROUPS[k] || k) + ": "),
        // A name reached only through the vocabulary hierarchy (via_hierarchy) is marked ↑.
        v.map((name, i) => [i ? "、" : "", ((x.via_hierarchy || {})[k] || []).includes(name)
          ? el("span", { class: "via-hierarchy", title: "上位类 broader entity, shared through the vocabulary hierarchy" }, name + "↑")
          : name]))),
      x.summary ? el("div", { class: "summary" }, x.summary) : null);
  }

  function scoredItem(it) {
    const d = it.direction;
    return el("li", { class: "result" + (it.above_threshold ? " strong" : ""), "data-id": d.id },
      el("div", { class: "score" },
        el("div", { class: "bar" }, el("i", { style: `width:${Math.round(Math.max(0, Math.min(1, it.score)) * 100)}%` })),
        el("span", {}, fmt(it.score, 3)),
        // The calibrated confidence: how likely readers judge the pair related (null: the build has no calibration).
        typeof it.confidence === "number"
          ? el("div", { class: "confidence", "data-confidence": String(it.confidence), title: "置信度 calibrated probability that readers judge the pair related" },
            "置信度 conf. ", Math.round(it.confidence * 100) + "%")
          : null),
      el("div", { class: "body" },
        el("div", {}, programBadge(d.program_id), " ", directionLink(d),
          it.above_threshold ? el("span", { class: "badge ok", title: "above the similarity threshold" }, "强相关 strong") : null),
        titleEn(d),
        explanationView(it.explanation)));
  }

  async function runSearch(text, program) {
    show("search");
    $("#search-input").value = text;
    $("#search-program").value = program || "";
    $("#search-echo").textContent = `“${text}”` + (program ? ` · ${program}` : "");
    const list = $("#search-results");
    list.replaceChildren(el("li", {}, "…"));
    const body = { text, k: 15 };
    if (program) body.programs = [program];
    const res = await api("/search", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    // The API returns only directions with evidence (res.rule); say what the text named, or why nothing came.
    const items = res.items;
    const named = (res.query_entities || []).map((t) => `${t.name}${t.name_en && t.name_en !== t.name ? ` (${t.name_en})` : ""} ← “${t.matched}”`);
    $("#search-named").textContent = named.length ? `识别 Found in the text: ${named.join(" · ")}` : "";
    $("#search-named").title = res.rule || "";
    list.replaceChildren(...items.map(scoredItem));
    if (!items.length) {
      list.append(el("li", { class: "empty", id: "search-empty" },
        el("div", {}, "无结果 No related directions. ", res.reason || ""),
        (res.suggestions || []).length ? el("div", { class: "suggestions" }, "试试 Try: ",
          res.suggestions.map((t) => el("a", { href: "#/search?" + new URLSearchParams({ q: t.name }), class: "badge",
            "data-id": t.id }, bi(t.name, t.name_en)))) : null));
    }
    list.dataset.count = String(items.length);
  }

  // -- direction --------------------------------------------------------------------------------------------
  function highlight(snippet, names) {
    // Mark the entity's names inside its evidence snippet.
    const frag = document.createDocumentFragment();
    const terms = names.filter((n) => n && snippet.includes(n)).sort((a, b) => b.length - a.length);
    if (!terms.length) { frag.append(snippet); return frag; }
    const re = new RegExp("(" + terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|") + ")", "g");
    for (const part of snippet.split(re)) {
      frag.append(terms.includes(part) ? el("mark", {}, part) : part);
    }
    return frag;
  }

  function entityCard(e) {
    const codes = Object.entries(e.codes || {}).filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length));
    return el("li", { class: "entity" + (e.boilerplate ? " boilerplate" : ""), "data-entity": e.id },
      el("div", { class: "entity-head" },
        el("a", { href: `#/graph/${encodeURIComponent(e.id)}?depth=1` }, bi(e.name, e.name_en)),
        codes.map(([k, v]) => el("span", { class: "code-chip" }, `${k.toUpperCase()} ${Array.isArray(v) ? v.join(",") : v}`)),
        FOUND_BY[e.found_by] ? el("span", { class: "badge", "data-found-by": e.found_by, title: FOUND_BY[e.found_by][1] },
          FOUND_BY[e.found_by][0]) : null,
        e.boilerplate ? el("span", { class: "badge", title: "boilerplate mention" }, "套话 boilerplate") : null),
      el("ul", { class: "evidence" }, (e.evidence || []).map((ev) => el("li", {},
        el("span", { class: "field" }, FIELDS[ev.field] || ev.field),
        el("q", {}, highlight(ev.snippet || "", [e.name, e.name_en])),
        el("span", { class: "span", title: "character offsets in the source file" }, `[${(ev.span || []).join("–")}]`)))));
  }

  async function showDirection(id) {
    show("direction");
    const box = $("#direction");
    box.replaceChildren(el("p", {}, "…"));
    const d = await api(`/directions/${encodeURIComponent(id)}`);
    const p = state.programById[d.program_id];
    const field = (key, value) => (value === null || value === undefined || value === "" ||
      (Array.isArray(value) && !value.length)) ? null
      : el("div", { class: "field-row", "data-field": key }, el("dt", {}, FIELDS[key] || key), el("dd", {}, value));
    const funding = d.funding ? `${d.funding.amount} ${d.funding.unit || ""} (${d.funding.scope || ""})` : null;
    const src = d.source ? `${d.source.file}` + (d.source.line ? `:${d.source.line}` : "") +
      ` [${d.source.start}–${d.source.end}]` : null;
    const groups = Object.entries(d.entities || {}).filter(([, list]) => list && list.length);
    box.replaceChildren(
      el("nav", { class: "crumbs" }, el("a", { href: "#/" }, "概览 Overview"), " › ",
        el("span", { title: p ? p.name_en : "" }, p ? p.name : d.program_id)),
      el("h2", { id: "direction-title" }, el("span", { class: "code" }, d.code), " ", d.title),
      titleEn(d, { id: "direction-title-en" }),
      el("p", { class: "meta" }, programBadge(d.program_id),
        d.category ? el("span", { class: "badge cat" }, CATEGORIES[d.category] || d.category) : null,
        d.category_raw ? el("span", { class: "badge" }, d.category_raw) : null,
        el("a", { class: "button", href: `#/graph/${encodeURIComponent(d.id)}?depth=1`, id: "open-graph" },
          "邻域图 Open graph view →")),
      el("div", { class: "direction-grid" },
        el("div", { class: "col-main" },
          el("dl", { class: "fields" },
            field("section_title", d.section_title),
            field("support_type", d.support_type),
            field("content", d.content),
            field("metrics", d.metrics),
            field("keywords", (d.keywords || []).join("；")),
            field("notes", (d.notes || []).join(" ")),
            field("application_code", d.application_code),
            field("disciplines", (d.disciplines || []).join(", ")),
            field("funding", funding),
            field("community", d.community),
            field("source", src))),
        el("div", { class: "col-side" },
          el("h3", {}, "实体与证据 ", el("span", { class: "en" }, "Entities & evidence")),
          groups.length ? groups.map(([g, list]) => el("section", { class: "entity-group", "data-group": g },
            el("h4", {}, GROUPS[g] || g, el("small", {}, ` (${list.length})`)),
            el("ul", { class: "entities" }, list.map(entityCard))))
            : el("p", { class: "hint" }, "无实体 No entities"))),
      el("h3", {}, "相似方向（跨项目） ", el("span", { class: "en" }, "Similar directions in other programs")),
      el("ol", { id: "similar", class: "results" }, el("li", {}, "…")));
    box.dataset.id = d.id;
    try {
      const sim = await api(`/directions/${encodeURIComponent(id)}/similar?k=8&scope=cross-program`);
      const items = sim.items.filter((it) => it.score > 0);
      $("#similar").replaceChildren(...items.map(scoredItem));
      // Nothing in another program reaches the SIMILAR_TO threshold: say so rather than list weak neighbours.
      if (sim.no_related) {
        $("#similar").append(el("li", { class: "empty", id: "no-related" },
          bi("其他项目中无相关方向", "No related direction in other programs"),
          el("div", { class: "hint" }, sim.message || "")));
      } else if (!items.length) $("#similar").append(el("li", {}, "无 None"));
    } catch (e) {
      $("#similar").replaceChildren(el("li", { class: "error" }, e.message));
    }
  }

  // -- graph ------------------------------------------------------------------------------------------------
  function legend(labels) {
    $("#legend").replaceChildren(el("h4", {}, "图例 Legend"),
      ...[...labels].sort().map((l) => el("div", { class: "legend-row" },
        el("i", { style: `background:${NODE_COLORS[l] || "#999"}` }), NODE_NAMES[l] || l)));
  }

  function nodeCaption(data) {
    const name = data.name || data.title || data.id;
    const short = name.length > 14 ? name.slice(0, 13) + "…" : name;
    return data.label === "Direction" && data.code ? `${data.code} ${short}` : short;
  }

  async function showGraph(node, params) {
    show("graph");
    if (!node) {
      // Default centre: the first program's first direction, so the view is never empty.
      const first = state.programs[0];
      if (!first) return;
      const page = await api(`/directions?program=${encodeURIComponent(first.id)}&limit=1`);
      node = page.items.length ? page.items[0].id : first.id;
    }
    const depth = params.get("depth") || $("#graph-depth").value || "2";
    const limit = params.get("limit") || $("#graph-limit").value || "100";
    $("#graph-node").value = node;
    $("#graph-depth").value = depth;
    $("#graph-limit").value = limit;
    const qs = new URLSearchParams({ node, depth, limit });
    const nb = await api(`/graph/neighborhood?${qs}`);
    if (typeof window.cytoscape !== "function") throw new Error("cytoscape.js did not load (vendor/cytoscape.min.js)");
    const labels = new Set();
    const nodes = nb.nodes.map((n) => {
      labels.add(n.data.label);
      return { data: { ...n.data, caption: nodeCaption(n.data), color: NODE_COLORS[n.data.label] || "#999",
        center: n.data.id === nb.center ? 1 : 0 } };
    });
    const ids = new Set(nodes.map((n) => n.data.id));
    const edges = nb.edges.filter((e) => ids.has(e.data.source) && ids.has(e.data.target)).map((e, i) => ({
      data: { ...e.data, id: e.data.id || `e${i}`, color: EDGE_COLORS[e.data.type] || "#cbd1da" },
    }));
    if (state.cy) state.cy.destroy();
    state.cy = window.cytoscape({
      container: $("#cy"),
      elements: { nodes, edges },
      maxZoom: 1.4,
      minZoom: 0.2,
      style: [
        { selector: "node", style: {
          "background-color": "data(color)", label: "data(caption)", "font-size": 9, color: "#1b2430",
          "text-valign": "bottom", "text-margin-y": 3, width: 16, height: 16, "min-zoomed-font-size": 6,
          "text-background-color": "#ffffff", "text-background-opacity": 0.7, "text-background-padding": 1,
          "font-family": "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif" } },
        { selector: "node[label = 'Direction']", style: { width: 20, height: 20, shape: "round-rectangle" } },
        { selector: "node[label = 'Program']", style: { width: 30, height: 30, shape: "hexagon", "font-weight": "bold" } },
        // Two hops out: smaller and unlabelled (tap one to see it), so the centre's own links stay readable.
        { selector: "node[distance >= 2]", style: { label: "", width: 11, height: 11, opacity: 0.75 } },
        { selector: "node[distance >= 2][label = 'Program']", style: { label: "data(caption)", width: 24, height: 24 } },
        { selector: "node[center = 1]", style: { "border-width": 4, "border-color": "#f1c40f", width: 32, height: 32 } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": "#111" } },
        { selector: "edge", style: { width: 1, "line-color": "data(color)", "curve-style": "bezier",
          "target-arrow-shape": "triangle", "target-arrow-color": "data(color)", "arrow-scale": 0.6, opacity: 0.8 } },
        { selector: "edge[type = 'SIMILAR_TO']", style: { width: 2.5, "line-style": "dashed" } },
      ],
      layout: { name: "cose", animate: false, nodeRepulsion: 400000, idealEdgeLength: 90, randomize: false,
        nodeOverlap: 20, componentSpacing: 60,
        numIter: 1500, fit: true, padding: 24 },
    });
    state.cy.on("tap", "node", (ev) => selectNode(ev.target.data()));
    state.cy.on("dbltap", "node", (ev) => { location.hash = `#/graph/${encodeURIComponent(ev.target.id())}?depth=${depth}`; });
    legend(labels);
    $("#cy").dataset.nodes = String(nodes.length);
    $("#cy").dataset.edges = String(edges.length);
    $("#graph-info").textContent = `${nodes.length} 节点 nodes · ${edges.length} 边 edges` +
      (nb.truncated ? " · 已截断 truncated" : "");
    selectNode(nodes.find((n) => n.data.id === nb.center)?.data || nodes[0]?.data);
  }

  function selectNode(data) {
    if (!data) return;
    const box = $("#graph-selected");
    box.replaceChildren();
    const rows = Object.entries(data).filter(([k, v]) => !["caption", "color", "center", "content", "metrics"].includes(k) &&
      v !== null && v !== "" && !(Array.isArray(v) && !v.length) && typeof v !== "object");
    box.append(...[
      el("h4", {}, bi(data.name || data.id, data.name_en)),
      el("p", {}, el("span", { class: "badge", style: `background:${NODE_COLORS[data.label] || "#999"};color:#fff` },
        NODE_NAMES[data.label] || data.label)),
      data.label === "Direction" ? el("p", {}, el("a", { href: `#/direction/${encodeURIComponent(data.id)}` }, "打开研究方向 Open direction →")) : null,
      el("p", {}, el("a", { href: `#/graph/${encodeURIComponent(data.id)}?depth=${$("#graph-depth").value}` }, "以此为中心 Centre here →")),
      el("dl", { class: "props" }, rows.slice(0, 14).map(([k, v]) => [el("dt", {}, k),
        el("dd", {}, Array.isArray(v) ? v.join(", ") : String(v))])),
    ].filter(Boolean));
  }

  // -- routing ----------------------------------------------------------------------------------------------
  async function route() {
    const { view, arg, params } = parseHash();
    setStatus("");
    document.body.dataset.loading = "1";
    try {
      if (view === "search") await runSearch(params.get("q") || "", params.get("program") || "");
      else if (view === "direction") await showDirection(arg);
      else if (view === "graph") await showGraph(arg, params);
      else {
        show("overview");
        if (!$("#heatmap svg")) await loadMatrix();
      }
    } catch (e) {
      setStatus(e.message, "error");
    } finally {
      document.body.dataset.loading = "0";
    }
  }

  function applySchema(schema) {
    // Names and colours of every node label, entity groups, and the heatmap's column types.
    for (const n of schema.node_types) {
      NODE_COLORS[n.label] = n.color;
      NODE_NAMES[n.label] = `${n.name_zh} ${n.name_en}`;
    }
    for (const t of schema.entity_types) {
      NODE_COLORS[t.label] = t.color;
      NODE_NAMES[t.label] = `${t.name_zh} ${t.short_en}`;
      GROUPS[t.plural] = `${t.name_zh} ${t.plural_en}`;
    }
    $("#matrix-by").replaceChildren(...schema.entity_types.filter((t) => t.matrix_menu)
      .map((t) => el("option", { value: t.key }, `${t.name_zh} ${t.name_en}`)));
    state.schema = schema;
  }

  async function init() {
    $("#search-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = $("#search-input").value.trim();
      if (!q) return;
      const program = $("#search-program").value;
      location.hash = `#/search?` + new URLSearchParams(program ? { q, program } : { q });
    });
    $("#matrix-by").addEventListener("change", () => loadMatrix().catch((e) => setStatus(e.message, "error")));
    $("#matrix-top").addEventListener("change", () => loadMatrix().catch((e) => setStatus(e.message, "error")));
    $("#graph-go").addEventListener("click", () => {
      const node = $("#graph-node").value.trim();
      location.hash = `#/graph/${encodeURIComponent(node)}?depth=${$("#graph-depth").value}&limit=${$("#graph-limit").value}`;
    });
    window.addEventListener("hashchange", route);
    try {
      const h = await api("/health");
      $("#foot").dataset.health = JSON.stringify(h);
      applySchema(await api("/schema"));
      await loadPrograms();
      $("#foot").append(` · ${h.node_count} 节点 nodes · ${h.edge_count} 边 edges · ${h.backend}` +
        (h.built_at ? ` · built ${h.built_at}` : "") + (h.encoder ? ` · encoder ${h.encoder}` : ""));
    } catch (e) {
      setStatus(`API: ${e.message}`, "error");
      return;
    }
    await route();
    document.body.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", init);
})();
