"""The metrics gate's verdicts on `dvc metrics diff` and `dvc status` output (formats as DVC 3 prints them)."""

from pipeline.gate import changes, markdown, stale

DIFF = {
    "metrics/glpn/mediaeval2016.json": {
        "test.accuracy": {"old": 0.456, "new": 0.4565, "diff": 0.0005},
        "test.auc": {"old": 0.5126, "new": 0.5126, "diff": 0.0},
        "test.counts.n": {"old": 125, "new": 125, "diff": 0},
    },
    "metrics/mlp/politifact.json": {"test.macro_f1": {"old": 0.675, "new": 0.69, "diff": 0.015}},
    "metrics/new/politifact.json": {"test.accuracy": {"old": None, "new": 0.5}},
}


def test_only_moved_metrics_are_listed_and_judged_by_the_tolerance():
    moved = {(c.path, c.metric): c for c in changes(DIFF)}
    assert set(moved) == {
        ("metrics/glpn/mediaeval2016.json", "test.accuracy"),
        ("metrics/mlp/politifact.json", "test.macro_f1"),
        ("metrics/new/politifact.json", "test.accuracy"),
    }
    assert not moved["metrics/glpn/mediaeval2016.json", "test.accuracy"].beyond(0.001)
    assert moved["metrics/mlp/politifact.json", "test.macro_f1"].beyond(0.001)
    assert not moved["metrics/mlp/politifact.json", "test.macro_f1"].beyond(0.02)
    assert moved["metrics/new/politifact.json", "test.accuracy"].beyond(1.0)  # a metric with no committed value


def test_markdown_table_counts_and_marks_each_change():
    text = markdown(DIFF, 0.001)
    assert "5 metrics in 3 files" in text and "3 moved, 2 beyond the tolerance" in text
    assert "| metrics/glpn/mediaeval2016.json | test.accuracy | 0.456 | 0.4565 | 0.0005 | within |" in text
    assert "| metrics/new/politifact.json | test.accuracy | – | 0.5 | – | **beyond** |" in text


def test_stale_counts_source_params_and_command_but_not_outputs_of_other_stages():
    status = {
        "train@inside-politifact": [
            {
                "changed deps": {
                    "pipeline/models": "modified",
                    "data/processed/politifact/llm.parquet": "modified",
                    "params.yaml": {"train.inside": "modified"},
                }
            },
            {"changed outs": {"models/inside/politifact": "deleted"}},
            "changed command",
        ],
        "train@inside-mediaeval2016": [{"changed outs": {"models/inside/mediaeval2016": "deleted"}}],
    }
    tracked = {"pipeline/models", "params.yaml"}
    result = stale(status, ["train@inside-politifact", "train@inside-mediaeval2016"], tracked)
    assert result == {
        "train@inside-politifact": ["pipeline/models (modified)", "param train.inside (modified)", "its command"]
    }
