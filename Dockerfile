# The fundgraph API (and CLI) in a container; docker-compose.yml wires it to Neo4j.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FUNDGRAPH_HOME=/var/lib/fundgraph

WORKDIR /app
# Metadata first so the dependency layer is cached across source edits.
COPY pyproject.toml README.md ./
COPY fundgraph ./fundgraph
# A wheel, not an editable install: the corpus, vocabularies, Cypher and dashboard are package data.
RUN pip wheel --no-deps -w /tmp/wheels . && pip install "$(ls /tmp/wheels/fundgraph-*.whl)[neo4j]" \
    && rm -rf /tmp/wheels /app/fundgraph

RUN useradd --system --create-home fundgraph && mkdir -p /var/lib/fundgraph && chown fundgraph /var/lib/fundgraph
USER fundgraph

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=5 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=2)" || exit 1
CMD ["fundgraph", "serve", "--host", "0.0.0.0", "--port", "8000"]
