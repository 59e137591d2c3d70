"""LIAR (Wang, ACL'17): short political statements from PolitiFact with 6-way truth labels.

Source files: train.tsv, valid.tsv, test.tsv, the official train/val/test split. No
header; 14 tab-separated columns: id (the PolitiFact json file name), label, statement,
subjects, speaker, job, state, party, five credit-history counts (barely-true, false,
half-true, mostly-true, pants-on-fire) and context. Statements contain bare quote
characters, so the files are read with quoting off (csv.QUOTE_NONE); a line that does not
give 14 fields is a counted 'malformed row' skip.

Labels: the 6-way label is kept in extra['label_6way']; the usual LIAR binarisation gives
false, pants-fire, barely-true -> 1 and half-true, mostly-true, true -> 0. Option
`binary_mapping` (dict 6-way label -> 0/1, or None to exclude) overrides it.

id is the file id without '.json'; speaker is user_id; subjects (a list), job, state,
party, context and the credit history go to extra. lang "en". No dates in the files.
Caution: the credit-history counts include the statement's own label in almost every row
(a known LIAR leak), so they are not a fair model feature as they are.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.data.readers import read_csv
from pipeline.data.schema import IngestReport, article, where
from pipeline.data.validate import clean_text, map_label

NAME = "liar"
FOLDER = "liar"
LABEL_FIELDS = ("label_6way",)  # extra fields that restate the label: no shortcut check on them
NEEDS = "train.tsv, valid.tsv, test.tsv"
DESCRIPTION = "LIAR political statements, 6-way labels binarised; official train/val/test"
TEXT_REQUIRED = True
PROVIDES = frozenset()  # inputs beyond text the methods can use (see pipeline/methods.py)
FILES = {"train": "train.tsv", "val": "valid.tsv", "test": "test.tsv"}
BINARY = {"false": 1, "pants-fire": 1, "barely-true": 1, "half-true": 0, "mostly-true": 0, "true": 0}
CREDIT_COLUMNS = ("barely_true_count", "false_count", "half_true_count", "mostly_true_count", "pants_on_fire_count")
COLUMNS = ("id", "label", "statement", "subjects", "speaker", "job", "state", "party", *CREDIT_COLUMNS, "context")


def _count(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    mapping = {str(k).strip().lower(): v for k, v in options.get("binary_mapping", BINARY).items()}
    rows = []
    for split, file_name in FILES.items():
        path = data_root / FOLDER / file_name
        for line, rec in read_csv(path, report, delimiter="\t", header=list(COLUMNS), quoting=csv.QUOTE_NONE):
            loc = where(path, line)
            label = map_label(rec["label"], mapping, report, f"{loc} [label]")
            if label is None:
                continue
            rows.append(
                article(
                    id=clean_text(rec["id"]).removesuffix(".json"),
                    text=clean_text(rec["statement"]),
                    label=label,
                    user_id=clean_text(rec["speaker"]) or None,
                    lang="en",
                    split=split,
                    extra={
                        "label_6way": clean_text(rec["label"]).lower(),
                        "subjects": [s.strip() for s in rec["subjects"].split(",") if s.strip()],
                        "job": clean_text(rec["job"]) or None,
                        "state": clean_text(rec["state"]) or None,
                        "party": clean_text(rec["party"]) or None,
                        "context": clean_text(rec["context"]) or None,
                        "credit_history": {c: _count(rec[c]) for c in CREDIT_COLUMNS},
                    },
                )
                | {"_loc": loc}
            )
    return rows
