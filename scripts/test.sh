#!/usr/bin/env bash
# Runs every test of the solution and ends with one line: "tests: N passed, N failed[, N skipped]".
# Installs missing system prerequisites first (scripts/install-prerequisites.sh). Extra arguments go to dotnet test
# (e.g. --filter FullyQualifiedName~Safetensors).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
scripts/install-prerequisites.sh

results="$repo/TestResults"
rm -rf "$results"
status=0
dotnet test DiscriminativeTokens.sln --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@" || status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
# A build or runner failure that produced no result counts as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
line="tests: $passed passed, $failed failed"
[ "$skipped" -eq 0 ] || line="$line, $skipped skipped"
echo "$line"
exit "$status"
