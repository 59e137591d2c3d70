"""Run the LLM tasks over a dataset's articles, through the cache.

Tasks:
  veracity   P(fake) from next-token probabilities of the label words (GLPN-LLM pseudo labels)
  zero_shot  the same scoring with LGCL's one-word prompt, class = the likelier label word
             (LGCL negative centroids): every article with a text gets a class
  intents    one generated paragraph per perspective: belief, desire, plan, outcome (InSide)

Only the raw model answers are cached; parsing happens when the table is assembled, so a
parsing fix never recomputes anything. The backend is loaded only when some request is not
in the cache. Texts longer than the input budget keep their first tokens (counted)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.errors import ParamsError
from pipeline.llm.backends import length_batches, make_backend
from pipeline.llm.cache import PendingWrites, ResultCache, cache_key, text_hash
from pipeline.llm.prompts import Prompt, load_prompt
from pipeline.progress import progress_bar

TASKS = ("veracity", "zero_shot", "intents")
SCORED_TASKS = ("veracity", "zero_shot")  # read from next-token label probabilities, never generated
PROMPT_OVERHEAD_TOKENS = 256  # room kept for the template around the article text
NOT_REQUESTED = "split not in llm.veracity.splits"
INTENTS_NOT_REQUESTED = "dataset not in llm.intents.datasets"
COMMIT_SECONDS = 30  # default of llm.commit_seconds


@dataclass
class Request:
    key: str
    row: int
    task: str
    part: str  # "user" or an intent perspective


@dataclass
class Prepared:
    request: Request
    chat: list[dict]
    truncated: bool


def commit_seconds(cfg: dict) -> float:
    """llm.commit_seconds: besides every batches_per_commit batches, the cache commits after any
    batch once this many seconds have passed since its last commit, so a killed run loses at
    most about this long plus one batch."""
    value = cfg.get("commit_seconds", COMMIT_SECONDS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ParamsError(f"llm.commit_seconds = {value!r}: must be a number > 0")
    return float(value)


class Annotator:
    """`clock` (monotonic seconds) times llm.commit_seconds; injectable for tests."""

    def __init__(
        self,
        cfg: dict,
        cache: ResultCache,
        backend_factory,
        prompts: dict[str, Prompt] | None = None,
        clock=time.monotonic,
    ):
        self.cfg, self.cache, self.backend_factory = cfg, cache, backend_factory
        self.commit_seconds, self.clock = commit_seconds(cfg), clock
        self.prompts = prompts or {task: load_prompt(task) for task in TASKS}
        self.backend = None

    @classmethod
    def of(cls, cfg: dict, backend_factory=None) -> Annotator:
        """The annotator for the llm params: their result cache (the caller closes
        `annotator.cache`) and, by default, their backend, loaded on first need."""
        cache = ResultCache.of(cfg)
        try:
            return cls(cfg, cache, backend_factory or (lambda: make_backend(cfg)))
        except BaseException:
            cache.close()
            raise

    def _decoding(self, task: str, part: str) -> dict:
        decoding = {"max_input_tokens": self.cfg.get("max_input_tokens", 512)}
        if task in SCORED_TASKS:
            decoding["scoring"] = "next-token label probabilities"
        else:
            decoding |= {"greedy": True, "max_new_tokens": self.cfg.get(task, {}).get("max_new_tokens", 64)}
        if task == "intents":
            decoding["perspective"] = part
            if self._share_prefix(task):
                decoding["shared_prefix"] = True
        return decoding

    def _share_prefix(self, task: str) -> bool:
        """llm.intents.share_prefix: an article's four perspective prompts run its text once
        (same greedy decoding; numerics differ from separate prompts at float precision)."""
        return task == "intents" and bool(self.cfg.get("intents", {}).get("share_prefix", False))

    def requests(self, task: str, articles: pd.DataFrame, rows=None) -> list[Request]:
        """One request per article row (only `rows` when given) and part."""
        parts = self.prompts[task].spec["perspectives"] if task == "intents" else ["user"]
        out = []
        for row in range(len(articles)) if rows is None else rows:
            text, lang = articles["text"].iat[row], articles["lang"].iat[row]
            for part in parts:
                key = cache_key(
                    model=self.cfg.get("model", "smollm2-135m"),
                    backend=self.cfg.get("backend", "transformers"),
                    task=task,
                    prompt_version=self.prompts[task].version,
                    decoding=self._decoding(task, part),
                    lang=self.prompts[task].language(lang),
                    text=text_hash(text or ""),
                )
                out.append(Request(key, int(row), task, part))
        return out

    def _input_budget(self, task: str, part: str) -> int:
        decoding = self._decoding(task, part)
        room = self.backend.context - PROMPT_OVERHEAD_TOKENS - decoding.get("max_new_tokens", 1)
        return max(16, min(decoding["max_input_tokens"], room))

    def _prepare(self, requests: list[Request], articles: pd.DataFrame) -> list[Prepared]:
        """Each request with its chat, the article text cut to the input budget."""
        out = []
        for r in requests:
            text, truncated = self.backend.truncate(articles["text"].iat[r.row], self._input_budget(r.task, r.part))
            out.append(Prepared(r, self.prompts[r.task].messages(text, articles["lang"].iat[r.row], r.part), truncated))
        return out

    def _batches(self, items: list[Prepared], share: bool) -> list[list[Prepared]]:
        """The batches the transformers backend would form from `items` in one call (whole
        articles with a shared prefix). Each batch is then sent alone, so the cache can commit
        between batches while results stay as one call's."""
        groups = [item.request.row for item in items] if share else None
        batches = length_batches([item.chat for item in items], self.cfg.get("batch_size", 16), groups)
        return [[items[i] for group in batch for i in group] for batch in batches]

    def _compute(self, batch: list[Prepared], articles: pd.DataFrame) -> dict[str, dict]:
        """Cache entries {"answer": raw answer, "truncated": bool} for one batch (one task and
        language; one part, or with a shared prefix, every part of its articles)."""
        first = batch[0].request
        chats = [item.chat for item in batch]
        if first.task in SCORED_TASKS:
            answers = self.backend.score_labels(chats, self.prompts[first.task].labels(articles["lang"].iat[first.row]))
        else:
            max_new_tokens = self._decoding(first.task, first.part)["max_new_tokens"]
            groups = [item.request.row for item in batch] if self._share_prefix(first.task) else None
            answers = self.backend.generate(chats, max_new_tokens, groups=groups)
        return {item.request.key: {"answer": a, "truncated": item.truncated} for item, a in zip(batch, answers)}

    def _groups(self, task: str, requests: list[Request], articles: pd.DataFrame) -> list[list[Request]]:
        """One backend call per language and part shares labels and budgets; with a shared
        prefix, per language, an article's perspectives side by side."""
        groups: dict[tuple, list[Request]] = {}
        for r in requests:
            language = self.prompts[task].language(articles["lang"].iat[r.row])
            groups.setdefault((language, None if self._share_prefix(task) else r.part), []).append(r)
        return list(groups.values())

    def _compute_pending(
        self, task: str, pending: list[Request], articles: pd.DataFrame, answers: dict, stats: dict, progress: bool
    ) -> None:
        """Compute `pending` batch by batch into `answers` (and `stats`), committing to the cache
        after every chunk of batch_size x batches_per_commit items and after any batch once
        commit_seconds have passed since the last commit."""
        share = self._share_prefix(task)
        pending = sorted(pending, key=lambda r: (articles["lang"].iat[r.row] or "", r.row if share else r.part))
        chunk = self.cfg.get("batch_size", 16) * self.cfg.get("batches_per_commit", 4)
        writes = PendingWrites(self.cache, self.commit_seconds, self.clock)
        with progress_bar(total=len(pending), desc=f"llm {task}", unit="item", disable=not progress) as bar:
            for start in range(0, len(pending), chunk):
                for group in self._groups(task, pending[start : start + chunk], articles):
                    for batch in self._batches(self._prepare(group, articles), share):
                        computed = self._compute(batch, articles)
                        writes.add(computed)
                        answers |= computed
                        stats["computed"] += len(computed)
                        bar.update(len(computed))
                writes.commit()
        stats["commits"] = writes.commits

    def run_task(
        self, task: str, articles: pd.DataFrame, progress: bool = True, rows=None
    ) -> tuple[list[Request], dict, dict]:
        """All answers for `task` (cached or computed now, by key) and the task's counts, for
        every article or only `rows`. Articles with an empty text are never sent to the model."""
        requests = self.requests(task, articles, rows)
        answers = self.cache.get_many([r.key for r in requests])
        empty_rows = {i for i, text in enumerate(articles["text"]) if not str(text or "").strip()}
        # identical texts (retweets, reposts) share one key: computed once
        pending = list({r.key: r for r in requests if r.key not in answers and r.row not in empty_rows}.values())
        stats = {
            "requests": len(requests),
            "rows_not_requested": len(articles) - len({r.row for r in requests}),
            "distinct": len({r.key for r in requests}),
            "from_cache": len(answers),
            "computed": 0,
            "empty_text": sum(r.row in empty_rows for r in requests),
            "commits": 0,
        }
        started = time.perf_counter()
        if pending:
            if self.backend is None:
                self.backend = self.backend_factory()
            self._compute_pending(task, pending, articles, answers, stats, progress)
        seconds = time.perf_counter() - started
        stats |= {
            "truncated": sum(bool(a["truncated"]) for a in answers.values()),
            "seconds": round(seconds, 2),
            "items_per_s": round(stats["computed"] / seconds, 2) if stats["computed"] else None,
        }
        return requests, answers, stats


def parse_label(answer: str, labels: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """The first label word in the answer -> (label, None); otherwise (None, reason)."""
    text = (answer or "").strip()
    if not text:
        return None, "empty generation"
    lowered = text.lower()
    hits = []
    for label, words in labels.items():
        for word in words:
            w = word.strip().lower()
            pattern = rf"\b{re.escape(w)}\b" if w.isascii() else re.escape(w)
            match = re.search(pattern, lowered)
            if match:
                hits.append((match.start(), label))
    if not hits:
        return None, "no label word in answer"
    return min(hits)[1], None


def _scored(requests: list[Request], entries: dict, n: int) -> tuple[np.ndarray, np.ndarray, list]:
    """P(fake), the probability mass on the label words and the null reason per row, from a
    scored task's cache entries."""
    prob, mass, reason = np.full(n, np.nan), np.full(n, np.nan), [NOT_REQUESTED] * n
    for r in requests:
        answer = entries[r.key]["answer"] if r.key in entries else None
        if answer is None:
            reason[r.row] = "no label word among scored tokens" if r.key in entries else "empty text"
        else:
            prob[r.row], mass[r.row], reason[r.row] = answer["fake"], answer["mass"], None
    return prob, mass, reason


def assemble(
    articles: pd.DataFrame, results: dict[str, tuple[list[Request], dict]], prompts: dict[str, Prompt]
) -> pd.DataFrame:
    """One row per article id with every task's outputs; every null carries a reason.
    `results` maps a task to its requests and cache entries by key (empty texts have none)."""
    n = len(articles)
    table = {"id": articles["id"].tolist()}
    if "veracity" in results:
        prob, mass, reason = _scored(*results["veracity"], n)
        table |= {
            "veracity_prob_fake": prob,
            "veracity_confidence": np.maximum(prob, 1 - prob),
            "veracity_label_mass": mass,
            "veracity_null_reason": reason,
        }
    if "zero_shot" in results:
        prob, mass, reason = _scored(*results["zero_shot"], n)
        table |= {
            "zero_shot_label": pd.array([None if np.isnan(p) else int(p >= 0.5) for p in prob], dtype="Int8"),
            "zero_shot_prob_fake": prob,
            "zero_shot_label_mass": mass,
            "zero_shot_null_reason": reason,
        }
    if "intents" in results:
        requests, entries = results["intents"]
        for part in prompts["intents"].spec["perspectives"]:
            table[f"intent_{part}"] = [None] * n
        reason = [None if requests else INTENTS_NOT_REQUESTED] * n
        for r in requests:
            text = (entries[r.key]["answer"] if r.key in entries else "").strip()
            if text:
                table[f"intent_{r.part}"][r.row] = text
            else:
                reason[r.row] = f"empty generation ({r.part})" if r.key in entries else "empty text"
        table["intents_null_reason"] = reason
    return pd.DataFrame(table)
