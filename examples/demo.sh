#!/usr/bin/env bash
# End-to-end ModelKit demo, no registry or server needed:
# pack examples/sentiment, list/inspect/info it, unpack it twice (all layers, then only
# the model), check the unpacked files against the originals and run the unpacked model.
#
# Uses the CLI built at packages/cli/dist/main.js (run `npm run build` first, or `npm run demo`)
# and a throw-away KITOPS_HOME, so the user's own ModelKit store is never touched.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLI="$ROOT/packages/cli/dist/main.js"
EXAMPLE="$ROOT/examples/sentiment"
REF="demo/sentiment:v1"

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

command -v node >/dev/null 2>&1 || die "node is not on PATH"
command -v python3 >/dev/null 2>&1 || die "python3 is not on PATH (needed to run the example model)"
[[ -f "$CLI" ]] || die "$CLI not found; run 'npm run build' in $ROOT first"
[[ -f "$EXAMPLE/Kitfile" ]] || die "$EXAMPLE/Kitfile not found"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kit-demo.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export KITOPS_HOME="$tmp/kitops-home"
mkdir -p "$KITOPS_HOME"
# Keep Python from writing __pycache__ into the example or the unpacked copy.
export PYTHONDONTWRITEBYTECODE=1

kit() { node "$CLI" "$@"; }

cd "$ROOT"
echo "repository root: $ROOT"
echo "KITOPS_HOME:     $KITOPS_HOME (temporary, removed on exit)"

step "kit pack examples/sentiment -t $REF"
kit pack examples/sentiment -t "$REF"

step "kit list"
kit list

step "kit inspect $REF"
kit inspect "$REF"

step "kit info $REF"
kit info "$REF"

step "kit unpack $REF -d \$tmp/unpacked"
kit unpack "$REF" -d "$tmp/unpacked"
(cd "$tmp/unpacked" && find . -type f | LC_ALL=C sort)

step "compare the unpacked files with the originals"
for p in model data src README.md LICENSE; do
  # .kitignore keeps caches out of the ModelKit, so leave them out of the comparison too.
  diff -r -x __pycache__ -x '*.pyc' -x .venv "$EXAMPLE/$p" "$tmp/unpacked/$p"
  echo "identical: $p"
done
[[ -f "$tmp/unpacked/Kitfile" ]] || die "unpack did not write a Kitfile"
echo "present:   Kitfile (re-generated from the ModelKit config)"

step "kit unpack $REF --filter model -d \$tmp/model-only"
kit unpack "$REF" --filter model -d "$tmp/model-only"
(cd "$tmp/model-only" && find . -type f | LC_ALL=C sort)
diff -r "$EXAMPLE/model" "$tmp/model-only/model"
echo "identical: model (weights and the tokenizer part)"
for p in data src README.md LICENSE; do
  [[ ! -e "$tmp/model-only/$p" ]] || die "--filter model also unpacked $p"
done
echo "absent:    data, src, README.md, LICENSE"

step "run the unpacked model: python3 \$tmp/unpacked/src/predict.py \"a wonderful, moving story\""
python3 "$tmp/unpacked/src/predict.py" "a wonderful, moving story"

step "same code, model-only weights: --model-dir \$tmp/model-only/model"
python3 "$tmp/unpacked/src/predict.py" --model-dir "$tmp/model-only/model" "the food was cold and bland"

step "demo finished: pack, list, inspect, info, unpack and filtered unpack all worked"
