#!/usr/bin/env bash
# Train and evaluate every method of the train stages on one full dataset, in a scratch
# clone (the workspace's embedded-default outputs stay untouched), and copy the metrics and
# reports into reports/full/<dataset>/.
#
#   scripts/full_run.sh weibo [weibo] [/path/to/shared/datasets] [/tmp/fnd-full-weibo]
#
# Same effect as `dvc exp run -S data_root=… -S '~datasets.…' -S '+datasets.<name>=<folder>'`
# limited to the train/evaluate stages and what they depend on (no semantics or graphs).
set -euo pipefail
name=$1
folder=${2:-$1}
data_root=$(realpath "${3:-../shared/datasets}")
work=${4:-/tmp/fnd-full-$name}
repo=$(git rev-parse --show-toplevel)

rm -rf "$work"
git clone -q "$repo" "$work"
cd "$work"
python - "$data_root" "$name" "$folder" <<'EOF'
import sys
import yaml
from dvc.utils.hydra import apply_overrides

data_root, name, folder = sys.argv[1:]
current = yaml.safe_load(open("params.yaml"))["datasets"]
overrides = [f"data_root={data_root}"] + [f"~datasets.{d}" for d in current if d != name]
overrides.append(f"datasets.{name}={folder}" if name in current else f"+datasets.{name}={folder}")
apply_overrides("params.yaml", overrides)
EOF
export PYTHONPATH=$work  # this clone's code, not the editable install's
targets=$(dvc stage list | awk '{print $1}' | grep -E "^evaluate(_glpn)?@.*$name")
dvc repro $targets

out=$repo/reports/full/$name
mkdir -p "$out/metrics"
cp params.yaml dvc.lock "$out/"
cp data/interim/"$name"/ingest_report.json data/processed/"$name"/{embed,llm}_report.json "$out/"
cp metrics/graphs/"$name"/similarity.json "$out/" 2>/dev/null || true
for file in metrics/*/"$name".json; do
  method=$(basename "$(dirname "$file")")
  [ "$method" = graphs ] || cp "$file" "$out/metrics/$method.json"
done
echo "results in $out"
