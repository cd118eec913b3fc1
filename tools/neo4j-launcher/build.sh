#!/usr/bin/env bash
# Build the test Neo4j launcher (neo4j-harness 5.26 + copied dependencies) unless it is up to date.
# Usage: tools/neo4j-launcher/build.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/neo4j-launcher.jar"
stamp="$here/target/lib/.complete"

command -v java >/dev/null || { echo "build.sh: java (17+) is not installed" >&2; exit 3; }
command -v mvn >/dev/null || { echo "build.sh: mvn (Maven) is not installed" >&2; exit 3; }
command -v javac >/dev/null || { echo "build.sh: javac (a JDK 17+, e.g. openjdk-17-jdk-headless) is not installed" >&2; exit 3; }

if [[ "${1:-}" != "--force" && -f "$jar" && -f "$stamp" ]]; then
  newer="$(find "$here/pom.xml" "$here/src" -newer "$stamp" -print -quit)"
  if [[ -z "$newer" ]]; then
    exit 0  # up to date
  fi
fi

cd "$here"
rm -rf "$here/target/lib"
mvn -q -B package
touch "$stamp"
echo "built $jar"
