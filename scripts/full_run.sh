#!/usr/bin/env bash
# Train and evaluate every method on one full dataset, in a scratch clone (the workspace's
# embedded-default outputs stay untouched), and copy the metrics and reports into
# reports/full/<dataset>/.
#
#   scripts/full_run.sh <dataset> [folder] [override ...]
#   scripts/full_run.sh weibo
#   scripts/full_run.sh politifact fakenewsnet
#   scripts/full_run.sh gossipcop llmfake '+ingest.options.gossipcop={adapter:llmfake,subsets:[gossipcop]}' \
#       'llm.intents.datasets=[gossipcop]' 'train.ablations=[]'
#
# Overrides are Hydra-style, as for `dvc exp run -S`. DATA_ROOT (default ../shared/datasets)
# and WORK (default /tmp/fnd-full-<dataset>) set the data and the scratch clone. The LLM
# result cache and the embedding cache are the workspace's own (.cache/llm, .cache/embeddings),
# so answers and vectors already computed are reused.
# RESUME=1 goes on with an interrupted run in WORK, with the workspace's committed code.
# COPY_ONLY=1 runs nothing: it copies what an interrupted run in WORK finished (each ablation
# variant is a stage of its own, so the variants trained before it stopped are kept).
# STAGES='train-<method>-<dataset> …' runs only those train stages (and what they need) and adds
# their results to the committed run, whose other methods stay (scripts/full_run_merge.py; it
# refuses a stage that read other data than the committed run).
# Same effect as `dvc exp run -S data_root=… -S '~datasets.…' -S '+datasets.<name>=<folder>'`
# limited to the train stages and what they depend on.
set -euo pipefail
name=$1
folder=${2:-$1}
shift $(( $# < 2 ? $# : 2 ))
repo=$(git rev-parse --show-toplevel)
work=${WORK:-/tmp/fnd-full-$name}

if [ -n "${COPY_ONLY:-}" ]; then
  [ -d "$work" ] || { echo "COPY_ONLY: no run in $work" >&2; exit 1; }
  cd "$work"
elif [ -n "${RESUME:-}" ] && [ -d "$work" ]; then
  # Go on with an interrupted run: finished stages are skipped, the LLM cache keeps its answers.
  cd "$work"
  git fetch -q origin && git checkout -q origin/HEAD -- pipeline stages prompts
else
  data_root=$(realpath "${DATA_ROOT:-$repo/../shared/datasets}")
  rm -rf "$work"
  git clone -q "$repo" "$work"
  cd "$work"
  # the clone's committed metrics and reports are the embedded slice's: only this run's may be copied out
  rm -rf metrics/*/"$name".json metrics/graphs/"$name" data/interim/"$name"/*_report.json data/processed/"$name"/*_report.json
  python - "$data_root" "$name" "$folder" "$repo/.cache/llm" "$repo/.cache/embeddings" "$@" <<'EOF'
import sys
import yaml
from dvc.utils.hydra import apply_overrides

data_root, name, folder, cache, embed_cache, *extra = sys.argv[1:]
current = yaml.safe_load(open("params.yaml"))["datasets"]
overrides = [f"data_root={data_root}", f"llm.cache_dir={cache}", f"+embed.cache_dir={embed_cache}"]
overrides += [f"semantics.kb={data_root}/wikipedia/summaries_en.json"]  # the full Wikipedia KB beside the data
overrides += [f"~datasets.{d}" for d in current if d != name]
overrides.append(f"datasets.{name}={folder}" if name in current else f"+datasets.{name}={folder}")
apply_overrides("params.yaml", overrides + extra)
EOF
fi
export PYTHONPATH=$work  # this clone's code, not the editable install's
if [ -z "${COPY_ONLY:-}" ]; then
  python -m pipeline.cli stages  # dvc.yaml for this run's params: stages for the methods that apply to it
  targets=${STAGES:-$(dvc stage list --name-only | grep -E "^train-.*-$name$")}
  dvc repro $targets
fi

out=$repo/reports/full/$name
if [ -n "${STAGES:-}" ]; then
  python "$repo/scripts/full_run_merge.py" "$work" "$out" "$name" $STAGES
  exit
fi
rm -rf "$out/metrics" "$out/train"  # an earlier run's methods that this run did not train must not stay
mkdir -p "$out/metrics"
cp params.yaml dvc.lock "$out/"
cp data/interim/"$name"/ingest_report.json data/processed/"$name"/{embed,llm}_report.json "$out/"
for report in llm_intents semantics intents; do
  cp data/processed/"$name"/${report}_report.json "$out/" 2>/dev/null || true
done
cp metrics/graphs/"$name"/*.json "$out/" 2>/dev/null || true
for file in metrics/*/"$name".json; do
  method=$(basename "$(dirname "$file")")
  [ "$method" = graphs ] || cp "$file" "$out/metrics/$method.json"
done
for file in models/*/"$name"/train.json; do
  method=$(basename "$(dirname "$(dirname "$file")")")
  mkdir -p "$out/train" && cp "$file" "$out/train/$method.json"
done
echo "results in $out"
