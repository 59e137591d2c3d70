"""Twitter15 / Twitter16 rumour propagation trees (Ma et al., ACL'17). No tweet text.

Source files: twitter15/label.txt and twitter16/label.txt ('label:tweet_id' per line) and
{subset}/tree/<tweet_id>.txt (one 'parent->child' edge per line, each node
['uid', 'tweet id', 'delay in minutes'], the first line ROOT -> source tweet). The source
tweet texts are not in this copy, so TEXT_REQUIRED is False and text is "". Each row keeps
in extra: subset, label_4way, tree_file (relative to the data root), tree_edges (edge
lines other than the ROOT line) and has_tree. A labelled tweet without a tree file is kept
and counted as 'no tree file'; a label line that is not 'label:tweet_id' is a counted skip.

Labels (option `mapping`, as for PHEME): "rumour" (default) gives false, true, unverified
-> 1 and non-rumor -> 0; "veracity" gives false -> 1, true -> 0 and excludes non-rumor and
unverified (counted as 'label excluded by mapping').

The same tweet appears in both subsets (169 ids, same label and tree), so id is
'<subset>:<tweet_id>' and the tweet id is the split group: both copies land in one split.
event = subset. lang "en". No timestamps: ingest makes a stratified (group-aware) split.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.data.readers import read_text
from pipeline.data.schema import IngestError, IngestReport, article, where
from pipeline.data.validate import clean_text, map_label

NAME = "twitter15_16"
FOLDER = "twitter15_16"
LABEL_FIELDS = ("label_4way",)  # extra fields that restate the label: no shortcut check on them
NEEDS = "twitter15/label.txt, twitter16/label.txt, twitter15/tree/, twitter16/tree/"
DESCRIPTION = "Twitter15/16 propagation trees with 4-way rumour labels; no tweet text"
TEXT_REQUIRED = False
PROVIDES = frozenset({"propagation"})  # inputs beyond text the methods can use (see pipeline/methods.py)
SUBSETS = ("twitter15", "twitter16")
MAPPINGS = {
    "rumour": {"false": 1, "true": 1, "unverified": 1, "non-rumor": 0},
    "veracity": {"false": 1, "true": 0, "unverified": None, "non-rumor": None},
}


def _count_edges(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith(b"['ROOT'"))


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    mapping_name = options.get("mapping", "rumour")
    if mapping_name not in MAPPINGS:
        raise IngestError(f"{NAME}: option mapping={mapping_name!r}; expected one of {', '.join(MAPPINGS)}")
    mapping = MAPPINGS[mapping_name]
    rows = []
    for subset in SUBSETS:
        path = data_root / FOLDER / subset / "label.txt"
        for line_no, line in enumerate(read_text(path, report).split("\n"), start=1):
            if not line.strip():
                continue
            report.rows_read += 1
            loc = where(path, line_no)
            parts = line.strip().split(":")
            if len(parts) != 2 or not parts[1].strip().isdigit():
                report.reject("malformed label line (not 'label:tweet_id')", loc)
                continue
            raw_label, tweet_id = clean_text(parts[0]).lower(), parts[1].strip()
            label = map_label(raw_label, mapping, report, f"{loc} [label]")
            if label is None:
                continue
            tree_file = f"{FOLDER}/{subset}/tree/{tweet_id}.txt"
            has_tree = (data_root / tree_file).exists()
            if not has_tree:
                report.flag("no tree file", f"{loc} [{tree_file}]")
            rows.append(
                article(
                    id=f"{subset}:{tweet_id}",
                    text="",
                    label=label,
                    event=subset,
                    lang="en",
                    extra={
                        "subset": subset,
                        "label_4way": raw_label,
                        "tree_file": tree_file,
                        "tree_edges": _count_edges(data_root / tree_file) if has_tree else 0,
                        "has_tree": has_tree,
                    },
                )
                | {"_loc": loc, "_group": tweet_id}
            )
    return rows
