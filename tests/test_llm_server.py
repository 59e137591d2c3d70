"""What a production OpenAI-compatible server does to the `openai` backend, against a stub server
(protocol_stub: our client's behaviour, not a real server's): 429 with Retry-After and 5xx before
success, a reply slower than timeout_s, bodies that are not JSON or have no choices, refusals
(401, 404), no logprobs where the veracity task needs them, and the server killed mid-run and
restarted, resumed through the cache without recomputing what was committed.

No real server runs here: llama-cpp-python has no Linux wheel on PyPI (a source build of
llama.cpp on 2 cores is far beyond a test's time) and vLLM needs a GPU; see docs/llm.md."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from pipeline.llm import backends
from pipeline.llm.annotate import Annotator, assemble
from pipeline.llm.cache import ResultCache

pytestmark = pytest.mark.protocol_stub

LABELS = {"fake": ["fake"], "real": ["real"]}
KEY_ENV = "TEST_LLM_SERVER_KEY"


def _p_fake(content: str) -> float:
    """The stub's P(fake) for a prompt: fixed per prompt, different across prompts."""
    return 0.05 + int(hashlib.sha256(content.encode()).hexdigest(), 16) % 90 / 100


def _answer(body: dict) -> dict:
    content = body["messages"][-1]["content"]
    p = _p_fake(content)
    if not body.get("logprobs"):
        return {"message": {"role": "assistant", "content": f" {'fake' if p > 0.5 else 'real'} "}}
    top = [
        {"token": "fake", "logprob": float(np.log(0.9 * p))},
        {"token": " real", "logprob": float(np.log(0.9 * (1 - p)))},
        {"token": "the", "logprob": float(np.log(0.1))},
    ]
    return {
        "message": {"role": "assistant", "content": "fake"},
        "logprobs": {"content": [top[0] | {"top_logprobs": top}]},
    }


class Stub:
    """A threaded chat-completions stub. `faults` are served in order, one per request, before
    normal answers: ("status", code, headers), ("sleep", seconds), ("body", bytes), ("drop",)
    (close the connection without a reply). With `die_after`, request number die_after + 1 and
    every later one is dropped and the server goes down as a killed process would: the listening
    socket closes and connections are refused. `logprobs=False` answers like a server without
    logprob support."""

    def __init__(self, port: int = 0, faults=(), die_after: int | None = None, logprobs: bool = True):
        self.faults, self.die_after, self.logprobs = list(faults), die_after, logprobs
        self.requests: list[dict] = []
        self.lock, self.stopped = threading.Lock(), threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append(body)
                    number = len(stub.requests)
                    fault = stub.faults.pop(0) if stub.faults else None
                if stub.die_after is not None and number > stub.die_after:
                    threading.Thread(target=stub.kill, daemon=True).start()
                    fault = ("drop",)
                try:
                    self._reply(body, fault)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

            def _reply(self, body, fault):
                kind = fault[0] if fault else None
                if kind == "drop":
                    self.close_connection = True
                    return
                if kind == "sleep":
                    stub.stopped.wait(fault[1])
                status, headers, payload = 200, {}, None
                if kind == "status":
                    status, headers, payload = fault[1], fault[2] if len(fault) > 2 else {}, b'{"error": "busy"}'
                elif kind == "body":
                    payload = fault[1]
                else:
                    choice = _answer(body | ({} if stub.logprobs else {"logprobs": False}))
                    payload = json.dumps({"choices": [choice]}).encode()
                self.send_response(status)
                for name, value in ({"Content-Type": "application/json"} | headers).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._down = threading.Lock()
        self._alive = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def kill(self):
        with self._down:
            if self._alive:
                self._alive = False
                self.stopped.set()
                self.httpd.shutdown()
                self.httpd.server_close()

    def contents(self) -> list[str]:
        """The article prompts received, in order."""
        return [r["messages"][-1]["content"] for r in self.requests]


@pytest.fixture()
def stubs(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv(KEY_ENV, "sk-test")
    made = []

    def make(**kwargs):
        made.append(Stub(**kwargs))
        return made[-1]

    yield make
    for stub in made:
        stub.kill()


def _backend(stub, **kwargs):
    settings = {"api_key_env": KEY_ENV, "concurrency": 2, "max_retries": 3, "backoff_s": 0.01, "timeout_s": 5.0}
    return backends.OpenAIBackend("stub-model", base_url=stub.url, **(settings | kwargs))


def _chats(n):
    return [[{"role": "user", "content": f"post number {i}"}] for i in range(n)]


def _expected(chats):
    return [pytest.approx(_p_fake(c[-1]["content"])) for c in chats]


def test_429_with_retry_after_and_5xx_are_retried_until_success(stubs):
    stub = stubs(faults=[("status", 429, {"Retry-After": "1"}), ("status", 500), ("status", 502), ("status", 504)])
    backend = _backend(stub, max_retries=4)
    sleeps = []
    backend.sleep = sleeps.append  # record the waits instead of sleeping
    chats = _chats(3)
    scores = backend.score_labels(chats, LABELS)
    assert [s["fake"] for s in scores] == _expected(chats)  # each answer is its own chat's, in order
    assert len(stub.requests) == 3 + 4 and backend.retries == 4
    assert max(sleeps) == 1.0  # Retry-After honoured over the 0.01 s backoff
    assert len(sleeps) == 4 and sorted(sleeps)[2] < 0.2  # plain backoff for the 5xx


def test_retry_after_forms_and_cap():
    assert backends._retry_after("3") == 3.0 and backends._retry_after("0.5") == 0.5
    assert 8 < backends._retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10
    assert backends._retry_after("soon") is None and backends._retry_after(None) is None
    assert backends.OpenAIBackend.RETRY_AFTER_CAP_S == 120.0


def test_429_past_max_retries_is_a_clear_error(stubs):
    stub = stubs(faults=[("status", 429, {"Retry-After": "0"})] * 3)
    backend = _backend(stub, max_retries=2)
    with pytest.raises(backends.LLMUnavailable, match=r"HTTP 429 from http://127\.0\.0\.1:\d+/v1.*gave up after 2"):
        backend.generate(_chats(1), 4)
    assert len(stub.requests) == 3


def test_reply_slower_than_timeout_is_retried(stubs):
    stub = stubs(faults=[("sleep", 3.0)])
    backend = _backend(stub, concurrency=1, timeout_s=0.3)
    started = time.perf_counter()
    scores = backend.score_labels(_chats(1), LABELS)
    assert time.perf_counter() - started < 2.0  # did not wait for the slow reply
    assert scores[0]["fake"] == _expected(_chats(1))[0]
    assert len(stub.requests) == 2 and backend.retries == 1

    stuck = stubs(faults=[("sleep", 3.0)] * 2)
    with pytest.raises(backends.LLMUnavailable, match="ReadTimeout talking to .*gave up after 1 retries"):
        _backend(stuck, timeout_s=0.3, max_retries=1).generate(_chats(1), 4)


def test_body_not_json_is_retried_then_a_clear_error(stubs):
    stub = stubs(faults=[("body", b'{"choices": [')])  # a reply cut short, then a good one
    backend = _backend(stub)
    assert backend.generate(_chats(1), 4) == ["real" if _p_fake("post number 0") <= 0.5 else "fake"]
    assert len(stub.requests) == 2

    gateway = stubs(faults=[("body", b"<html>502 Bad Gateway</html>")] * 2)
    with pytest.raises(backends.LLMUnavailable, match="body not JSON: '<html>502 Bad Gateway</html>'"):
        _backend(gateway, max_retries=1).generate(_chats(1), 4)

    no_choices = stubs(faults=[("body", b'{"error": {"message": "model overloaded"}}')])
    with pytest.raises(backends.LLMUnavailable, match="has no choices.*model overloaded"):
        _backend(no_choices).generate(_chats(1), 4)


@pytest.mark.parametrize(
    "status, hint", [(401, rf"\${KEY_ENV} \(llm.openai.api_key_env\)"), (404, "llm.openai.base_url and .*stub-model")]
)
def test_refusals_are_not_retried_and_say_what_to_fix(stubs, status, hint):
    stub = stubs(faults=[("status", status)])
    with pytest.raises(backends.LLMUnavailable, match=rf"HTTP {status} from .*{hint}"):
        _backend(stub).generate(_chats(1), 4)
    assert len(stub.requests) == 1


CFG = {"backend": "openai", "model": "stub-model", "batch_size": 2, "batches_per_commit": 1, "max_input_tokens": 64}


@pytest.fixture()
def articles():
    texts = [f"Breaking: claim number {i} about the storm" for i in range(10)] + [""]
    return pd.DataFrame({"id": [f"a{i}" for i in range(11)], "text": texts, "lang": "en"})


def _annotate(stub_url, cache_path, articles, tasks=("veracity", "zero_shot")):
    cache = ResultCache(cache_path)
    factory = lambda: backends.OpenAIBackend(  # noqa: E731
        "stub-model", base_url=stub_url, api_key_env=KEY_ENV, concurrency=2, max_retries=2, backoff_s=0.01
    )
    annotator = Annotator(CFG, cache, factory)
    try:
        results, counts = {}, {}
        for task in tasks:
            requests, entries, counts[task] = annotator.run_task(task, articles, progress=False)
            results[task] = (requests, entries)
    finally:
        cache.close()
    return assemble(articles, results, annotator.prompts), counts


def test_server_without_logprobs_is_a_clear_error_and_caches_nothing(stubs, articles, tmp_path):
    stub = stubs(logprobs=False)
    with pytest.raises(backends.LLMUnavailable, match=r"returned no top_logprobs.*llm\.openai\.top_logprobs = 20"):
        _annotate(stub.url, tmp_path / "c.sqlite", articles, tasks=("veracity",))
    assert len(ResultCache(tmp_path / "c.sqlite")) == 0  # not stored as nulls for good
    with pytest.raises(backends.LLMUnavailable, match="returned no top_logprobs"):
        _annotate(stub.url, tmp_path / "c.sqlite", articles, tasks=("zero_shot",))  # scored the same way
    table, _ = _annotate(stub.url, tmp_path / "c.sqlite", articles, tasks=("intents",))
    assert table["intent_belief"].notna().sum() == 10  # generation needs no logprobs


def test_server_killed_mid_run_then_restarted_resumes_without_recomputing(stubs, articles, tmp_path):
    reference, _ = _annotate(stubs().url, tmp_path / "reference.sqlite", articles)

    # batches of 2, a commit after each: the 7th request kills the server, 3 batches are committed
    first = stubs(die_after=6)
    started = time.perf_counter()
    with pytest.raises(backends.LLMUnavailable, match=rf"talking to http://127\.0\.0\.1:{first.port}/v1.*gave up"):
        _annotate(first.url, tmp_path / "c.sqlite", articles)
    assert time.perf_counter() - started < 10  # a clear error, not a hang
    answered = first.contents()[:6]
    assert len(ResultCache(tmp_path / "c.sqlite")) == 6

    restarted = stubs(port=first.port)
    table, counts = _annotate(restarted.url, tmp_path / "c.sqlite", articles)
    rescored = restarted.contents()
    assert len(rescored) == 4 + 10 and not set(rescored) & set(answered)  # nothing committed is recomputed
    assert counts["veracity"]["from_cache"] == 6 and counts["veracity"]["computed"] == 4
    assert counts["zero_shot"]["computed"] == 10
    pd.testing.assert_frame_equal(table, reference)
    assert table["veracity_prob_fake"].notna().sum() == 10
