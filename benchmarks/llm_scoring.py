"""Logprob scoring vs generate-then-parse for the veracity label, on the same real posts,
in one run with the packaged LLM; scoring with and without the shared-prefix KV cache; and
intent generation on real PolitiFact articles, one prompt per perspective against the
article prefix shared by its four perspectives (llm.intents.share_prefix).

    python benchmarks/llm_scoring.py [--items 48] [--intent-items 16] [--batch-size 16]

Scoring reads P(fake) from one forward pass; generate-then-parse decodes up to
--max-new-tokens greedily and looks for a label word in the answer (what parsing-based
pipelines do). Agreement is over the items where the parse found a label."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from pipeline.llm.annotate import parse_label
from pipeline.llm.backends import TransformersBackend
from pipeline.llm.prompts import load_prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=48)
    parser.add_argument("--intent-items", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--posts", default="data/raw/mediaeval2016/train_posts_clean.csv")
    parser.add_argument("--articles", default="data/raw/fakenewsnet/politifact_content")
    args = parser.parse_args()

    posts = pd.read_csv(args.posts)["post_text"].dropna()
    posts = posts[posts.str.strip() != ""].head(args.items).tolist()
    backend = TransformersBackend("smollm2-135m", "cuda" if torch.cuda.is_available() else "cpu", args.batch_size)
    prompt = load_prompt("veracity")
    chats = [prompt.messages(text, "en") for text in posts]
    labels = prompt.labels("en")
    backend.score_labels(chats[:2], labels)  # warm-up

    start = time.perf_counter()
    scores = backend.score_labels(chats, labels)
    scoring_s = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():  # the same next-token logits without the shared-prefix cache
        for first in range(0, len(chats), args.batch_size):
            backend.model(**backend._encode(chats[first : first + args.batch_size]), logits_to_keep=1)
    whole_prompt_s = time.perf_counter() - start
    start = time.perf_counter()
    answers = backend.generate(chats, args.max_new_tokens)
    generate_s = time.perf_counter() - start

    scored = ["fake" if s["fake"] >= 0.5 else "real" for s in scores]
    parsed = [parse_label(a, labels)[0] for a in answers]
    both = [(s, p) for s, p in zip(scored, parsed) if p is not None]
    print(
        f"device {backend.device}, torch threads {torch.get_num_threads()}, "
        f"{len(posts)} MediaEval posts, batch {args.batch_size}"
    )
    print(f"{'path':<34}{'items/s':>10}")
    print(f"{'logprob scoring (1 forward)':<34}{len(posts) / scoring_s:>10.2f}")
    print(f"{'  same, without shared-prefix cache':<34}{len(posts) / whole_prompt_s:>10.2f}")
    print(f"{f'generate {args.max_new_tokens} tokens + parse':<34}{len(posts) / generate_s:>10.2f}")
    print(f"throughput ratio scoring/generate: {generate_s / scoring_s:.2f}")
    print(
        f"parsed a label from {len(both)}/{len(posts)} generations; "
        f"agreement with scoring on those: {sum(s == p for s, p in both) / max(1, len(both)):.2f}"
    )
    print(f"scoring predicted fake for {scored.count('fake')}/{len(scored)}")

    intents = load_prompt("intents")
    parts = intents.spec["perspectives"]
    files = sorted(Path(args.articles).glob("*/*/news content.json"))[: args.intent_items]
    texts = [backend.truncate(json.loads(f.read_text())["text"], 512)[0] for f in files]
    intent_chats = [intents.messages(text, "en", part) for text in texts for part in parts]
    groups = [i for i, _ in enumerate(texts) for _ in parts]
    print(f"intents: {len(texts)} PolitiFact articles (cut to 512 tokens) x {len(parts)} perspectives, 64 new tokens")
    start = time.perf_counter()
    plain = backend.generate(intent_chats, 64)
    plain_s = time.perf_counter() - start
    print(
        f"{f'  one prompt per perspective, batch {args.batch_size}':<44}"
        f"{len(intent_chats) / plain_s:>8.2f} paragraphs/s"
    )
    for batch_size in (args.batch_size, 2 * args.batch_size):
        backend.batch_size = batch_size
        start = time.perf_counter()
        shared = backend.generate(intent_chats, 64, groups=groups)
        seconds = time.perf_counter() - start
        same = sum(a == b for a, b in zip(plain, shared))
        print(
            f"{f'  article prefix shared, batch {batch_size} rows':<44}"
            f"{len(intent_chats) / seconds:>8.2f} paragraphs/s "
            f"(x{plain_s / seconds:.2f}; {same}/{len(plain)} paragraphs identical)"
        )


if __name__ == "__main__":
    main()
