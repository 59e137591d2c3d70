"""LLMFake (Chen & Shu, ICLR'24): human news and ChatGPT-generated misinformation.

Source files: llmfake/{politifact,gossipcop,coaid}/synthetic-gpt-3.5-turbo_<subset>_<method>_processed.csv.
The method is the file name between the subset and '_processed' (paraphrase_generation,
information_manipulation_False_Context, totally_arbitrary_generation, ...). Two layouts:
- news_id, news_text, label, synthetic_misinformation (+ lang, theme): each row gives the
  human article (id '<subset>:<news_id>', its fact-check label: 1 = fake, 0 = real) and
  the generated text (id '<subset>:<news_id>:<method>', origin 'generated').
- label, prompt, 'synthetic misinformation' (no news_id): generated rows only, id
  '<subset>:<method>:<line>' with the CSV line number.

Labels: every generated text is 1 (LLM-generated misinformation), whatever the file's
label column says; human texts keep their fact-check label (0/1 only, others are counted
skips). event = subset; extra = origin, method, subset (+ news_id, prompt).

Policies:
- The same human article is repeated in every generation file of a subset; it is emitted
  once, from the first file (sorted by name) that holds its news_id. A news_id repeated
  inside that file is emitted twice, so ingest counts the repeat as a 'duplicate id'.
- A generated text identical to its human text is not a generation (the source copies the
  article where it generated nothing: e.g. all real CoAID rows): counted skip 'generated
  text identical to the human text'.
- A human text identical to an earlier article's (scrape failures such as '""', '403
  Forbidden' or a Cloudflare 'Access denied' page, mostly real CoAID rows) is kept and
  counted as 'human text identical to another article's'.
- _group = '<subset>:<news_id>' (a generated-only row is its own group), so an article and
  its rewrites always share a split. No timestamps: the split is stratified by group.
- The `theme` column is left out of extra: it is '0' for exactly one label class in every
  file, i.e. it leaks the label.

Options: subsets (list, default all three).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.data.readers import read_csv
from pipeline.data.schema import IngestError, IngestReport, article, where
from pipeline.data.validate import clean_text, map_label, require_columns

NAME = "llmfake"
FOLDER = "llmfake"
NEEDS = "{politifact,gossipcop,coaid}/synthetic-gpt-3.5-turbo_<subset>_<method>_processed.csv"
DESCRIPTION = "LLMFake: human PolitiFact/GossipCop/CoAID news plus ChatGPT-generated misinformation"
TEXT_REQUIRED = True
SEVERAL_ROWS_PER_RECORD = True  # one record holds a human article and its LLM rewrite
PROVIDES = frozenset()  # inputs beyond text the methods can use (see pipeline/methods.py)
SUBSETS = ("politifact", "gossipcop", "coaid")
HUMAN_LABELS = {"1": 1, "0": 0}
PAIRED_COLUMNS = ("news_id", "news_text", "label", "synthetic_misinformation")
GENERATED_COLUMNS = ("prompt", "synthetic misinformation")


def _method(path: Path, subset: str) -> str:
    prefix = f"synthetic-gpt-3.5-turbo_{subset}_"
    name = path.stem
    if not name.startswith(prefix):
        raise IngestError(f"{path}: file name does not start with '{prefix}'; cannot tell the generation method")
    return name[len(prefix) :].removesuffix("_processed")


def _generated(id: str, text: str, subset: str, method: str, group: str, loc: str, extra: dict) -> dict:
    return article(
        id=id,
        text=text,
        label=1,
        event=subset,
        lang="en",
        extra={"origin": "generated", "method": method, "subset": subset} | extra,
    ) | {"_loc": loc, "_group": group}


def _human(rec: dict, key: str, subset: str, news_id: str, loc: str, report: IngestReport) -> dict | None:
    label = map_label(rec["label"], HUMAN_LABELS, report, f"{loc} [label]")
    if label is None:
        return None
    return article(
        id=key,
        text=clean_text(rec["news_text"]),
        label=label,
        event=subset,
        lang=clean_text(rec.get("lang")) or "en",
        extra={"origin": "human", "method": None, "subset": subset, "news_id": news_id},
    ) | {"_loc": loc, "_group": key}


def _read_file(path: Path, subset: str, first_file: dict, texts: dict, report: IngestReport) -> list[dict]:
    """Rows of one generation file; `first_file` maps '<subset>:<news_id>' to the file that
    emits its human row, `texts` maps each human text to the first id that had it."""
    method = _method(path, subset)
    rows = []
    paired = None
    repeats = 0
    for line, rec in read_csv(path, report):
        if paired is None:
            paired = "news_id" in rec
            require_columns(list(rec), PAIRED_COLUMNS if paired else GENERATED_COLUMNS, path)
        loc = where(path, line)
        if not paired:
            id = f"{subset}:{method}:{line}"
            text = clean_text(rec["synthetic misinformation"])
            rows.append(_generated(id, text, subset, method, id, loc, {"prompt": clean_text(rec["prompt"])}))
            continue
        news_id = clean_text(rec["news_id"])
        if not news_id:
            report.reject("empty news_id", f"{loc} [news_id]")
            continue
        key = f"{subset}:{news_id}"
        if first_file.setdefault(key, path) == path:
            human = _human(rec, key, subset, news_id, loc, report)
            if human is not None:
                rows.append(human)
                if human["text"] and texts.setdefault(human["text"], key) != key:
                    report.flag(
                        "human text identical to another article's", f"{loc} [news_text same as {texts[human['text']]}]"
                    )
        else:
            repeats += 1
        text = clean_text(rec["synthetic_misinformation"])
        if text and text == clean_text(rec["news_text"]):
            report.reject("generated text identical to the human text", f"{loc} [synthetic_misinformation]")
            continue
        rows.append(_generated(f"{key}:{method}", text, subset, method, key, loc, {"news_id": news_id}))
    if repeats:
        report.note(f"{path}: {repeats} human article(s) already read from an earlier file of '{subset}', emitted once")
    return rows


def read(data_root: Path, options: dict, report: IngestReport) -> list[dict]:
    subsets = options.get("subsets", SUBSETS)
    subsets = [subsets] if isinstance(subsets, str) else list(subsets)
    unknown = [s for s in subsets if s not in SUBSETS]
    if unknown:
        raise IngestError(f"llmfake option 'subsets': unknown {unknown}; choose from {list(SUBSETS)}")
    rows = []
    first_file: dict[str, Path] = {}
    texts: dict[str, str] = {}
    for subset in subsets:
        paths = sorted((data_root / FOLDER / subset).glob("*.csv"))
        if not paths:
            raise IngestError(f"{data_root / FOLDER / subset}: no CSV files ({NEEDS})")
        for path in paths:
            rows += _read_file(path, subset, first_file, texts, report)
    report.note(
        "rows_read counts CSV records: a news_id record gives its generated row and, in the first "
        "file holding the news_id, the human row; a prompt-only record gives one generated row"
    )
    return rows
