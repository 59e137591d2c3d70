"""Data checks at ingest (pipeline/data/checks.py): texts duplicated across splits, the same
text under both labels, boilerplate repeated many times, ids repeated with another label,
and sources that are nearly one label; each flagged (default), dropped or kept, with the
accounting rows_read == kept + rejected intact.

Each test writes its own CSV into tmp_path and reads it with the generic adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from generic_input import COLUMNS, LABELS, run, text, write_csv

from pipeline.data import liar
from pipeline.data.checks import normalise, shortcuts
from pipeline.data.schema import IngestReport
from stages import ingest as ingest_stage

BOILERPLATE = (
    "This website is using a security service to protect itself from online attacks. "
    "The action you just performed triggered the security solution."
)


def accounted(report: IngestReport, df: pd.DataFrame) -> bool:
    return report.rows_read == report.rows_kept + sum(report.rejected.values()) and report.rows_kept == len(df)


def warnings_about(report: IngestReport, check: str) -> list[str]:
    return [w for w in report.warnings if w.startswith(f"{check}:")]


def test_normalised_text_ignores_case_width_urls_and_punctuation():
    assert normalise("ＢＲＥＡＫＩＮＧ:  Visit https://t.co/xyz www.site.example/a NOW!!!") == "breaking visit now"
    assert normalise(text(2)) == normalise(f"  {text(2).upper()} !!! http://example.com/x")
    assert normalise("Le café — fermé") == "le café fermé"


# ---------------------------------------------------------------- duplicates across splits


def leaky(tmp_path) -> Path:
    """60 rows in the data's own split (0-39 train, 40-49 val, 50-59 test); four val/test rows
    copy a text of an earlier split: 40 (val) ~ 0 and 51 (test) ~ 2 near-exact, 50 (test) = 1
    and 52 (test) = 41 (val) exact. A copy has its original's label."""
    records = [
        {
            "id": str(i),
            "text": text(i),
            "label": "fake" if i % 2 else "real",
            "part": "train" if i < 40 else "val" if i < 50 else "test",
        }
        for i in range(60)
    ]
    for copy, original, change in [
        (40, 0, lambda t: t.upper() + " https://example.com/story"),
        (50, 1, lambda t: t),
        (51, 2, lambda t: t.replace("Report", "ＲＥＰＯＲＴ") + "!!!"),
        (52, 41, lambda t: t),
    ]:
        records[copy]["text"] = change(records[original]["text"])
        records[copy]["label"] = records[original]["label"]
    return write_csv(tmp_path / "leaky.csv", records)


SPLIT = COLUMNS | {"split": "part"}


def test_duplicates_across_splits_are_flagged_and_kept(tmp_path):
    df, report = run(tmp_path, leaky(tmp_path), SPLIT, split="column")
    assert len(df) == 60 and accounted(report, df)
    assert report.checks["duplicates"] == {
        "policy": "flag",
        "rows": 4,
        "texts": 4,
        "rows_dropped": 0,
        "examples": ["40", "50", "51", "52"],
        "exact_rows": 2,
        "by_split": {"val": 1, "test": 3},
    }
    (warning,) = warnings_about(report, "duplicates")
    assert warning.startswith("duplicates: 1 val and 3 test rows (4 distinct texts, 2 of the rows exact copies)")
    assert "e.g. ids 40, 50, 51, 52" in warning
    assert warning.endswith("kept: set ingest.options.x.duplicates: drop to remove the val/test copies")


def test_duplicates_dropped_from_val_and_test_keep_the_accounting(tmp_path):
    df, report = run(tmp_path, leaky(tmp_path), SPLIT, split="column", duplicates="drop")
    assert set(df["id"]) == {str(i) for i in range(60)} - {"40", "50", "51", "52"}
    assert {"0", "1", "2", "41"} <= set(df["id"])  # the earlier split's copies stay
    assert report.rejected == {
        "val/test text also in train (duplicates: drop)": 3,
        "test text also in val (duplicates: drop)": 1,
    }
    assert report.examples["test text also in val (duplicates: drop)"] == [f"{tmp_path / 'leaky.csv'}:54"]
    assert accounted(report, df) and report.rows_read == 60
    assert report.checks["duplicates"]["rows_dropped"] == 4
    assert not warnings_about(report, "duplicates")
    assert any(n.startswith("duplicates: 1 val and 3 test rows") and "drop removed" in n for n in report.notes)


def test_duplicates_keep_counts_without_a_warning(tmp_path):
    df, report = run(tmp_path, leaky(tmp_path), SPLIT, split="column", duplicates="keep")
    assert len(df) == 60 and report.checks["duplicates"]["rows"] == 4
    assert not warnings_about(report, "duplicates") and not report.notes


def test_default_flag_policies_leave_the_rows_as_keep_does(tmp_path):
    path = leaky(tmp_path)
    flagged, flag_report = run(tmp_path, path, SPLIT, split="column")
    kept, keep_report = run(tmp_path, path, SPLIT, split="column", duplicates="keep", conflicts="keep", repeated="keep")
    pd.testing.assert_frame_equal(flagged, kept)
    assert flag_report.checks["duplicates"]["rows"] == keep_report.checks["duplicates"]["rows"] == 4
    assert warnings_about(flag_report, "duplicates") and not keep_report.warnings


# ---------------------------------------------------------------- conflicting labels


def conflicting(tmp_path) -> Path:
    """80 rows; 3 (fake) and 20 (real) have one text (20 in capitals); id 7 repeats with the
    other label."""
    records = [{"id": str(i), "text": text(i), "label": "fake" if i % 2 else "real"} for i in range(80)]
    records[20]["text"] = text(3).upper()
    records.append({"id": "7", "text": "the same id, the other label", "label": "real"})
    return write_csv(tmp_path / "conflicts.csv", records)


def test_same_text_under_both_labels_is_flagged(tmp_path):
    df, report = run(tmp_path, conflicting(tmp_path), split="stratified")
    assert report.checks["conflicts"] | {"examples": None} == {
        "policy": "flag",
        "rows": 2,
        "texts": 1,
        "rows_dropped": 0,
        "examples": None,
    }
    assert sorted(report.checks["conflicts"]["examples"]) == ["20", "3"]
    (warning,) = warnings_about(report, "conflicts")
    assert "2 rows (1 distinct text) have the same text under both labels" in warning
    assert warning.endswith("kept: set ingest.options.x.conflicts: drop to remove every row of such a text")
    assert {"3", "20"} <= set(df["id"])


def test_same_text_under_both_labels_dropped(tmp_path):
    df, report = run(tmp_path, conflicting(tmp_path), split="stratified", conflicts="drop")
    assert not {"3", "20"} & set(df["id"])
    assert report.rejected["same text with both labels (conflicts: drop)"] == 2
    assert accounted(report, df)


def test_an_id_repeated_with_the_other_label_is_counted_apart(tmp_path):
    df, report = run(tmp_path, conflicting(tmp_path), split="stratified")
    assert report.rejected["duplicate id with a different label"] == 1 and "duplicate id" not in report.rejected
    assert report.examples["duplicate id with a different label"] == [f"{tmp_path / 'conflicts.csv'}:82"]
    (warning,) = [w for w in report.warnings if "with the other label" in w]
    assert warning.startswith("ids repeated with the other label: 1 row(s) rejected as 'duplicate id with a differ")
    assert df.set_index("id").loc["7", "label"] == 1  # the first row wins, as before
    assert accounted(report, df)


# ---------------------------------------------------------------- boilerplate


def boilerplate(tmp_path) -> Path:
    """100 distinct texts and 25 scraped error pages (24 fake, 1 real; whitespace and a URL vary)."""
    records = [{"id": str(i), "text": text(i), "label": "fake" if i % 2 else "real"} for i in range(100)]
    for k in range(25):
        page = BOILERPLATE.replace(" ", "  ") if k % 2 else f"{BOILERPLATE} https://site{k}.example/"
        records.append({"id": f"b{k}", "text": page, "label": "real" if k == 0 else "fake"})
    return write_csv(tmp_path / "scraped.csv", records)


def test_boilerplate_is_flagged_with_its_text_and_label_share(tmp_path):
    df, report = run(tmp_path, boilerplate(tmp_path), split="stratified")
    assert len(df) == 125
    check = report.checks["repeated"]
    assert (check["rows"], check["texts"], check["min"], check["policy"]) == (25, 1, 20, "flag")
    assert check["most_repeated"] == {"text": BOILERPLATE[:60] + "…", "rows": 25, "fake_share": 0.96}
    (warning,) = warnings_about(report, "repeated")
    assert f'"{BOILERPLATE[:60]}…"' in warning and "(25 rows, 96% fake)" in warning
    assert warning.endswith("kept: set ingest.options.x.repeated: drop to remove every copy")
    assert report.checks["conflicts"]["rows"] == 25  # one copy is real


def test_boilerplate_dropped_and_repeated_min(tmp_path):
    path = boilerplate(tmp_path)
    df, report = run(tmp_path, path, split="stratified", repeated="drop")
    assert len(df) == 100 and not df["id"].str.startswith("b").any()
    assert report.rejected == {"text repeated 20+ times (repeated: drop)": 25} and accounted(report, df)
    df, report = run(tmp_path, path, split="stratified", repeated="drop", conflicts="drop")
    assert report.rejected == {"same text with both labels (conflicts: drop)": 25}  # each row counted once
    assert report.checks["repeated"]["rows_dropped"] == 0 and report.checks["conflicts"]["rows_dropped"] == 25
    _, report = run(tmp_path, path, split="stratified", repeated_min=30)
    assert report.checks["repeated"]["rows"] == 0 and not warnings_about(report, "repeated")


def test_rows_one_check_dropped_are_not_reported_by_another(tmp_path):
    # the error page is repeated and also carries both labels: dropped as repeated, it is no
    # longer a conflict to warn about
    df, report = run(tmp_path, boilerplate(tmp_path), split="stratified", repeated="drop")
    assert report.checks["conflicts"]["rows"] == 0 and not warnings_about(report, "conflicts")
    assert report.checks["repeated"]["rows_dropped"] == 25 and accounted(report, df)


# ---------------------------------------------------------------- shortcut risk


def sourced(tmp_path) -> Path:
    """200 rows from 13 publishers (mixed labels), 30 from clickbait.example (all fake) and 9
    from tiny.example (all fake, too few to matter)."""
    records = [
        {"id": str(i), "text": text(i), "label": "fake" if i % 3 == 0 else "real", "publisher": f"site{i % 13}"}
        for i in range(161)
    ]
    records += [
        {"id": f"c{k}", "text": text(1000 + k), "label": "fake", "publisher": "clickbait.example"} for k in range(30)
    ]
    records += [{"id": f"t{k}", "text": text(2000 + k), "label": "fake", "publisher": "tiny.example"} for k in range(9)]
    return write_csv(tmp_path / "sourced.csv", records)


def test_shortcut_risk_names_the_one_label_source(tmp_path):
    path = sourced(tmp_path)
    _, report = run(tmp_path, path, COLUMNS | {"event": "publisher"}, split="stratified")
    (warning,) = [w for w in report.warnings if w.startswith("shortcut risk")]
    assert warning.startswith(
        "shortcut risk: 1 event group(s) each hold at least 5% of the rows and are at least 95% one label: "
        "'clickbait.example' (30 rows, 100% fake)"
    )
    assert "1 of them are in train and in val or test" in warning
    assert "split: group, split_by: event keeps a source out of test, or drop the source" in warning
    assert [g["value"] for g in report.checks["shortcuts"]["groups"]] == ["clickbait.example"]

    _, report = run(tmp_path, path, COLUMNS | {"event": "publisher"}, split="group", split_by="event")
    (warning,) = [w for w in report.warnings if w.startswith("shortcut risk")]
    assert "none of them is in both train and val or test" in warning


def test_shortcut_risk_reads_the_split_by_source_column(tmp_path):
    _, report = run(tmp_path, sourced(tmp_path), split="group", split_by="publisher")
    assert [g["column"] for g in report.checks["shortcuts"]["groups"]] == ["publisher"]


def test_shortcut_risk_reads_every_source_column(tmp_path):
    # an unmapped publisher column, not the split's: a stratified split mixes its one-label
    # source into train and test
    _, report = run(tmp_path, sourced(tmp_path), split="stratified")
    (group,) = report.checks["shortcuts"]["groups"]
    assert (group["column"], group["value"], group["in_train_and_held_out"]) == ("publisher", "clickbait.example", True)


# ---------------------------------------------------------------- the stage


def test_stage_prints_each_warning_and_writes_it_to_the_report(tmp_path, capsys):
    path = leaky(tmp_path)
    options = {"adapter": "generic", "path": str(path), "columns": SPLIT, "labels": LABELS, "split": "column"}
    result = ingest_stage.run("x", {"ingest": {"options": {"x": options}}}, str(tmp_path), tmp_path / "out")
    stderr = capsys.readouterr().err
    assert result["warnings"] and stderr.splitlines() == [f"warning: x: {w}" for w in result["warnings"]]
    written = json.loads((tmp_path / "out" / "x" / "ingest_report.json").read_text())
    assert written["warnings"] == result["warnings"]
    assert written["checks"]["duplicates"]["rows"] == 4
    assert written["split_policy"] == {"split": "column", "split_by": None, "chosen_by": "option"}


@pytest.mark.parametrize("check", ["duplicates", "conflicts", "repeated"])
def test_every_check_is_in_the_report_even_when_nothing_is_found(tmp_path, check):
    records = [{"id": str(i), "text": text(i), "label": "fake" if i % 2 else "real"} for i in range(40)]
    _, report = run(tmp_path, write_csv(tmp_path / "clean.csv", records), split="stratified")
    assert report.checks[check]["rows"] == 0 and report.checks[check]["policy"] == "flag"
    assert not report.warnings


def test_fields_an_adapter_declares_as_the_label_are_not_sources():
    # LIAR's 6-way label in extra is one label per value by definition: no shortcut warning
    labels = [1] * 20 + [0] * 20
    df = pd.DataFrame(
        {
            "label": labels,
            "split": ["train", "test"] * 20,
            "extra": [json.dumps({"label_6way": "false" if y else "true"}) for y in labels],
        }
    )
    report = IngestReport(dataset="x", source="x")
    shortcuts(df, report, split_by=None)
    assert {g["value"] for g in report.checks["shortcuts"]["groups"]} == {"false", "true"}
    report = IngestReport(dataset="x", source="x")
    shortcuts(df, report, split_by=None, label_fields=("label_6way",))
    assert report.checks["shortcuts"]["groups"] == [] and not report.warnings
    assert liar.LABEL_FIELDS == ("label_6way",)
