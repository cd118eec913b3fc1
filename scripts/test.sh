#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs every test against the real
# things (bundled corpus, a real Neo4j started by the test session, a real sentence-transformers model,
# real headless Chromium). Skipped Neo4j/browser/notebook tests fail the run (FUNDGRAPH_REQUIRE_ALL=1).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
# Chinese glyphs for the dashboard screenshots and the notebook's figures.
fc-list :lang=zh 2>/dev/null | grep -q . || need_apt+=(fonts-noto-cjk)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing system packages: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

python -m pip install -q --disable-pip-version-check -e '.[all,dev]'
bash tools/neo4j-launcher/build.sh

export FUNDGRAPH_REQUIRE_ALL=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python -m pytest "$@"
