#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs every test against the real
# things (bundled corpus, a real Neo4j started by the test session, a real sentence-transformers model,
# real headless Chromium). Skipped Neo4j/browser/notebook tests fail the run (FUNDGRAPH_REQUIRE_ALL=1).
#
# System packages are installed only when missing (with sudo when not root); each stage prints what it
# installs and how long it took. Extra arguments go to pytest, e.g. the fast tier:
#   bash scripts/test.sh -m "not neo4j and not browser and not slow and not notebook"
set -euo pipefail
cd "$(dirname "$0")/.."

stage_start=$SECONDS
stage() {  # stage NAME: print how long the previous stage took, then announce the next
  local now=$SECONDS
  [ -n "${stage_name:-}" ] && echo "== ${stage_name}: $((now - stage_start)) s"
  stage_name="$1"; stage_start=$now
  [ -n "$1" ] && echo "== $1"
  return 0
}

stage "system packages"
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
# Old Word .doc and RTF are read through LibreOffice (tests/loaders/test_doc_formats.py); its writer alone.
need_bare=()
command -v soffice >/dev/null 2>&1 || need_bare+=(libreoffice-writer-nogui)
# Chinese glyphs for the dashboard screenshots and the notebook's figures.
fc-list :lang=zh 2>/dev/null | grep -q . || need_apt+=(fonts-noto-cjk)
if [ "${#need_apt[@]}" -gt 0 ] || [ "${#need_bare[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing system packages: ${need_apt[*]} ${need_bare[*]}${sudo:+ (with sudo)}"
  $sudo apt-get update -qq
  if [ "${#need_apt[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
  if [ "${#need_bare[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_bare[@]}" >/dev/null
  fi
else
  echo "all present (chromium, chromedriver, JDK, Maven, LibreOffice, CJK fonts)"
fi

stage "python packages (pip install -e '.[all,dev]')"
python -m pip install -q --disable-pip-version-check -e '.[all,dev]'

stage "Neo4j 5.26 test harness (Maven)"
bash tools/neo4j-launcher/build.sh

stage "tests"
export FUNDGRAPH_REQUIRE_ALL=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
status=0
python -m pytest "$@" || status=$?
stage ""
exit "$status"
