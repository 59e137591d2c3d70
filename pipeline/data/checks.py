"""Data checks run by ingest after the split, before any model sees the rows.

Texts are compared normalised: Unicode NFKC, lower-cased, URLs (http(s)://…, www.…)
removed, and every run of characters that are not letters or digits collapsed to one
space. Only the text (the body) is compared, not the title: the body is what every method
reads, and scraped boilerplate (error pages, cookie walls) often differs only in its title.
A text that is empty after normalising (e.g. Twitter15/16 ships none) takes part in no
check. Each normalised text is hashed (BLAKE2b, 16 bytes) once, so the checks are O(n).

Checks, each with a per-dataset policy (ingest.options.<dataset>.<check>):
  duplicates  a val or test row whose text is also in train, or a test row whose text is
              also in val (exact and near-exact copies across splits: the score on it
              measures memory). drop removes those val/test copies.
  conflicts   a text that occurs with both labels anywhere. drop removes every row of it.
  repeated    a text that occurs at least `repeated_min` times (default 20): boilerplate
              such as scraped error pages. drop removes every copy.
Policies: flag (default: keep the rows, count them, warn), drop (remove them, each counted
as a rejected row under the check's reason, so ingest's accounting still holds, and say so
in the report's notes), keep (count only, no warning). A row that several checks drop is
dropped by the first of conflicts, repeated, duplicates, and the other checks neither count
nor warn about rows a check dropped (a scraped error page dropped as repeated is not also
a conflict). Each check's counts (rows affected, distinct texts, policy, rows dropped, up to
five example ids) go to IngestReport.checks. The checks never change the rows under the
default policies.

IngestReport.checks also holds label_shift (margin, fake share and rows per split, the
splits shifted) and shortcuts (the thresholds and every group found).

Warnings (IngestReport.warnings, printed by the ingest stage):
  label shift    the fake share of val or test (of at least LABEL_SHIFT_MIN_ROWS rows)
                 differs from train's by more than the margin (default 0.15 absolute;
                 option label_shift_margin), naming the split policy that caused it.
  shortcut risk  a group (a value of the split_by column, event, user_id or any source
                 column kept in extra, e.g. a publisher) of at least SHORTCUT_MIN_ROWS
                 rows that is at least SHORTCUT_SHARE one label and holds at least
                 SHORTCUT_COVER of the rows.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
import pandas as pd

from pipeline.data.schema import LABEL_FAKE, IngestReport
from pipeline.data.splits import column_values, extra_keys, extras

CHECKS = ("duplicates", "conflicts", "repeated")
POLICIES = ("flag", "drop", "keep")
REPEATED_MIN = 20
LABEL_SHIFT_MARGIN = 0.15
LABEL_SHIFT_MIN_ROWS = 10  # a split smaller than this has no meaningful label share
SHORTCUT_MIN_ROWS = 10
SHORTCUT_SHARE = 0.95
SHORTCUT_COVER = 0.05
SHORTCUT_COLUMNS = ("event", "user_id")  # and every source column kept in extra
MAX_EXAMPLES = 5

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
NON_ALNUM = re.compile(r"[\W_]+")
# ASCII fast path of the same rule: A-Z lowered, a-z and 0-9 kept, every other byte a space
ASCII = bytes(c + 32 if 65 <= c <= 90 else c if 48 <= c <= 57 or 97 <= c <= 122 else 32 for c in range(256))


def _normalised(text: str) -> bytes:
    """normalise(text) as UTF-8; ASCII text (NFKC leaves it as it is) takes a faster path."""
    if text.isascii():
        if "://" in text or "w." in text or "W." in text:  # the URL pattern is slow to scan for
            text = URL.sub(" ", text)
        return b" ".join(text.encode("ascii").translate(ASCII).split())
    text = unicodedata.normalize("NFKC", text).lower()
    return NON_ALNUM.sub(" ", URL.sub(" ", text)).strip().encode("utf-8")


def normalise(text: str) -> str:
    """NFKC, lower case, no URLs, runs of non-alphanumerics as one space."""
    return _normalised(text).decode("utf-8")


def _key(text) -> bytes | None:
    if not isinstance(text, str):
        return None
    norm = _normalised(text)
    return hashlib.blake2b(norm, digest_size=16).digest() if norm else None


def text_codes(texts: pd.Series) -> np.ndarray:
    """One integer per distinct normalised text (-1 where it is empty)."""
    codes, _ = pd.factorize(texts.map(_key).to_numpy(dtype=object), use_na_sentinel=True)
    return codes


def _count(codes: np.ndarray, mask: np.ndarray, size: int, weights=None) -> np.ndarray:
    return np.bincount(codes[mask], weights=None if weights is None else weights[mask], minlength=size)


def _examples(df: pd.DataFrame, mask: np.ndarray) -> list[str]:
    return [str(i) for i in df["id"].to_numpy()[mask][:MAX_EXAMPLES]]


def _quote(text: str, n: int = 60) -> str:
    flat = " ".join(text.split())
    return flat[:n] + ("…" if len(flat) > n else "")


def check_texts(
    df: pd.DataFrame,
    report: IngestReport,
    *,
    policies: dict[str, str],
    repeated_min: int = REPEATED_MIN,
    dataset: str,
) -> pd.DataFrame:
    """Run duplicates, conflicts and repeated on the split frame `df`; count them in
    report.checks, warn (flag) or note (drop), and return the frame without the dropped
    rows (each counted in report.rejected at its '_loc')."""
    n = len(df)
    option = f"ingest.options.{dataset}"
    codes = text_codes(df["text"])
    valid = codes >= 0
    size = max(int(codes.max(initial=-1)) + 1, 1)  # at least 1, so code_or_0 indexes something
    labels = df["label"].to_numpy()
    split = df["split"].to_numpy(dtype=object)
    per_text = _count(codes, valid, size)
    fake_per_text = _count(codes, valid, size, (labels == LABEL_FAKE).astype(float))
    in_split = {s: _count(codes, valid & (split == s), size) > 0 for s in ("train", "val")}
    code_or_0 = np.where(valid, codes, 0)

    # duplicates: val/test copies of a train text, test copies of a val text
    dup_val = valid & (split == "val") & in_split["train"][code_or_0]
    dup_test_train = valid & (split == "test") & in_split["train"][code_or_0]
    dup_test_val = valid & (split == "test") & ~dup_test_train & in_split["val"][code_or_0]
    dup = dup_val | dup_test_train | dup_test_val
    texts = df["text"].to_numpy(dtype=object)
    exact_train, exact_val = set(texts[split == "train"]), set(texts[split == "val"])
    exact = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(dup):
        exact[i] = texts[i] in exact_train or (split[i] == "test" and texts[i] in exact_val)
    # conflicts: both labels under one text; repeated: a text at least repeated_min times
    conflict_text = (fake_per_text > 0) & (fake_per_text < per_text)
    conflict = valid & conflict_text[code_or_0]
    repeated_text = per_text >= repeated_min
    repeated = valid & repeated_text[code_or_0]

    found = {"conflicts": conflict, "repeated": repeated, "duplicates": dup}
    reasons = {
        "conflicts": np.full(n, "same text with both labels (conflicts: drop)", dtype=object),
        "repeated": np.full(n, f"text repeated {repeated_min}+ times (repeated: drop)", dtype=object),
        "duplicates": np.where(
            dup_test_val, "test text also in val (duplicates: drop)", "val/test text also in train (duplicates: drop)"
        ).astype(object),
    }
    reason = np.full(n, None, dtype=object)
    dropped_by = np.full(n, "", dtype=object)
    for check in ("conflicts", "repeated", "duplicates"):  # a row dropped twice is counted once, here first
        if policies[check] == "drop":
            take = found[check] & (dropped_by == "")
            reason[take], dropped_by[take] = reasons[check][take], check

    for check in CHECKS:
        mask = found[check] & np.isin(dropped_by, ("", check))  # rows another check dropped are gone
        entry = {
            "policy": policies[check],
            "rows": int(mask.sum()),
            "texts": int(len(np.unique(codes[mask]))),
            "rows_dropped": int((dropped_by == check).sum()),
            "examples": _examples(df, mask),
        }
        if check == "duplicates":
            entry["exact_rows"] = int(exact.sum())
            entry["by_split"] = {"val": int(dup_val.sum()), "test": int((dup_test_train | dup_test_val).sum())}
        if check == "repeated":
            entry["min"] = repeated_min
            if repeated.any():
                top = int(np.argmax(np.where(repeated_text, per_text, -1)))
                first = int(np.flatnonzero(codes == top)[0])
                entry["most_repeated"] = {
                    "text": _quote(texts[first]),
                    "rows": int(per_text[top]),
                    "fake_share": round(float(fake_per_text[top] / per_text[top]), 3),
                }
        report.checks[check] = entry
        if entry["rows"]:
            _tell(report, check, entry, option)

    drop = dropped_by != ""
    if drop.any():
        for loc, why in zip(df["_loc"].to_numpy()[drop], reason[drop]):
            report.reject(why, str(loc))
    return df.loc[~drop]


def _texts(k: int) -> str:
    return f"{k} distinct text{'s' if k != 1 else ''}"


def _tell(report: IngestReport, check: str, entry: dict, option: str) -> None:
    """The flag warning, or the drop note, for one check."""
    rows, texts, examples = entry["rows"], entry["texts"], ", ".join(entry["examples"])
    if check == "duplicates":
        copies = " and ".join(f"{k} {s}" for s, k in entry["by_split"].items() if k)
        what = (
            f"duplicates: {copies} rows ({_texts(texts)}, {entry['exact_rows']} of the rows exact copies) "
            "repeat a text of train (or, for test, of val) after normalising "
            f"(NFKC, lower case, no URLs or punctuation), e.g. ids {examples}: a score on them measures memory, "
            "not detection"
        )
        remedy, action = "drop to remove the val/test copies", "removed the val/test copies"
    elif check == "conflicts":
        what = (
            f"conflicts: {rows} rows ({_texts(texts)}) have the same text under both labels, e.g. ids "
            f"{examples}: no detector can get them all right"
        )
        remedy, action = "drop to remove every row of such a text", "removed every row of such a text"
    else:
        top = entry["most_repeated"]
        what = (
            f"repeated: {_texts(texts)} {'each occur' if texts != 1 else 'occurs'} at least {entry['min']} times "
            f"({rows} rows), likely boilerplate; "
            "the most "
            f'repeated ({top["rows"]} rows, {top["fake_share"]:.0%} fake): "{top["text"]}": a model learns the '
            "page, not the news"
        )
        remedy, action = "drop to remove every copy", "removed every copy"
    if entry["policy"] == "flag":
        report.warn(f"{what}; kept: set {option}.{check}: {remedy}")
    elif entry["policy"] == "drop":
        report.note(f"{what}; {option}.{check}: drop {action} ({entry['rows_dropped']} rows, counted as rejected)")


def _fake_share(labels: np.ndarray) -> float:
    return float((labels == LABEL_FAKE).mean()) if len(labels) else float("nan")


def label_shift(
    df: pd.DataFrame,
    report: IngestReport,
    *,
    margin: float,
    method: str,
    causes: dict[str, str],
    split_by: str | None,
    dataset: str,
) -> None:
    """Warn where val's or test's fake share differs from train's by more than `margin`;
    `causes` says how each of val and test was made (Splits.val_text, test_text)."""
    option = f"ingest.options.{dataset}"
    split = df["split"].to_numpy(dtype=object)
    labels = df["label"].to_numpy()
    shares = {s: _fake_share(labels[split == s]) for s in ("train", "val", "test")}
    sizes = {s: int((split == s).sum()) for s in ("train", "val", "test")}
    shifted = []
    for part in ("val", "test"):
        if sizes[part] < LABEL_SHIFT_MIN_ROWS or abs(shares[part] - shares["train"]) <= margin:
            continue
        shifted.append(part)
        if method == "chronological":
            remedy = (
                "the labels are not spread evenly over time; use split: stratified, "
                "or split: group, split_by: <source column>"
            )
        elif method == "column":
            remedy = (
                "the data's own split has another label mix; unless that is the benchmark's point, "
                "use split: stratified, or split: group, split_by: <source column>"
            )
        elif method == "group":
            remedy = (
                f"whole {split_by} groups of mostly one label went to {part}; use split: stratified, "
                "or a split_by column with more, smaller groups"
            )
        else:
            remedy = "too few rows of a class to stratify; add rows"
        report.warn(
            f"label shift: {part} is {shares[part]:.0%} fake against {shares['train']:.0%} in train "
            f"({causes[part]}): accuracy on {part} does not measure what training learned; {remedy} "
            f"(margin {margin:g}: {option}.label_shift_margin)"
        )
    report.checks["label_shift"] = {
        "margin": margin,
        "fake_share": {s: None if np.isnan(v) else round(v, 3) for s, v in shares.items()},
        "rows": sizes,
        "shifted": shifted,
    }


def shortcuts(df: pd.DataFrame, report: IngestReport, *, split_by: str | None, label_fields=()) -> None:
    """Warn about groups (values of split_by, event, user_id or a source column kept in extra)
    that are large and nearly one label: a model can learn the source instead of the content.
    `label_fields` are extra fields the adapter declares as restating the label (LIAR's 6-way
    label): one label per value by definition, not a source."""
    n = len(df)
    labels = (df["label"].to_numpy() == LABEL_FAKE).astype(float)
    split = df["split"].to_numpy(dtype=object)
    found = []
    parsed = extras(df)
    candidates = [c for c in (split_by, *SHORTCUT_COLUMNS, *extra_keys(parsed)) if c and c not in label_fields]
    for column in dict.fromkeys(candidates):
        values = column_values(df, column, parsed)
        if values is None:
            continue
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        if len(uniques) < 2:
            continue
        valid = codes >= 0
        counts = _count(codes, valid, len(uniques))
        fakes = _count(codes, valid, len(uniques), labels)
        major = np.maximum(fakes, counts - fakes) / np.maximum(counts, 1)
        risky = (counts >= SHORTCUT_MIN_ROWS) & (major >= SHORTCUT_SHARE) & (counts >= SHORTCUT_COVER * n)
        if not risky.any():
            continue
        in_train = _count(codes, valid & (split == "train"), len(uniques)) > 0
        held_out = _count(codes, valid & (split != "train"), len(uniques)) > 0
        groups = [
            {
                "column": column,
                "value": str(uniques[g]),
                "rows": int(counts[g]),
                "label": "fake" if fakes[g] >= counts[g] - fakes[g] else "real",
                "share": round(float(major[g]), 3),
                "in_train_and_held_out": bool(in_train[g] and held_out[g]),
            }
            for g in sorted(np.flatnonzero(risky), key=lambda g: -counts[g])
        ]
        found += groups
        names = ", ".join(
            f"{_quote(g['value'], 40)!r} ({g['rows']} rows, {g['share']:.0%} {g['label']})" for g in groups[:3]
        )
        more = f" and {len(groups) - 3} more" if len(groups) > 3 else ""
        spanning = sum(g["in_train_and_held_out"] for g in groups)
        if spanning:
            remedy = (
                f"{spanning} of them are in train and in val or test, so scores there reward recognising the source: "
                f"split: group, split_by: {column} keeps a source out of test, or drop the source"
            )
        else:
            remedy = (
                "none of them is in both train and val or test, so scores are not inflated by them; "
                "drop the source if the model should not learn it"
            )
        report.warn(
            f"shortcut risk: {len(groups)} {column} group(s) each hold at least {SHORTCUT_COVER:.0%} of the rows and "
            f"are at least {SHORTCUT_SHARE:.0%} one label: {names}{more}: a model can learn the source instead of "
            f"the content; {remedy}"
        )
    report.checks["shortcuts"] = {
        "min_rows": SHORTCUT_MIN_ROWS,
        "share": SHORTCUT_SHARE,
        "cover": SHORTCUT_COVER,
        "groups": found,
    }
