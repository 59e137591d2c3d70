"""LLM stage: the real transformers backend (packaged SmolLM2) on a handful of real posts,
cache and resume, parsing and quality, and protocol tests for the vLLM and OpenAI-compatible
backends (neither can run here: vLLM does not install, no server is reachable)."""

from __future__ import annotations

import json
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest

from pipeline.llm import backends
from pipeline.llm.annotate import INTENTS_NOT_REQUESTED, NOT_REQUESTED, Annotator, assemble, parse_label
from pipeline.llm.cache import ResultCache
from pipeline.llm.prompts import load_prompt
from pipeline.llm.quality import expected_calibration_error, veracity_quality
from stages.llm import task_rows, tasks_for, veracity_rows

TASKS = ("veracity", "zero_shot", "intents")
CFG = {
    "batch_size": 2,
    "batches_per_commit": 1,
    "max_input_tokens": 64,
    "intents": {"max_new_tokens": 8},
}


# Tests that run the real packaged SmolLM2 (about 20 s to load, up to minutes a test on a 2-core CPU).
LOADS_SMOLLM2 = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    return backends.TransformersBackend("smollm2-135m", "cpu", batch_size=2)


@pytest.fixture(scope="module")
def smollm2_tokenizer():
    """The packaged SmolLM2's tokenizer alone (what vLLM's LLM.get_tokenizer returns), without the weights."""
    from transformers import AutoTokenizer

    path, gguf = backends.resolve_model("smollm2-135m")
    return AutoTokenizer.from_pretrained(path, gguf_file=gguf)


@pytest.fixture(scope="module")
def posts(mediaeval_root) -> pd.DataFrame:
    """Six real MediaEval posts plus one empty text."""
    frame = pd.read_csv(mediaeval_root / "mediaeval2016" / "train_posts_clean.csv").head(6)
    rows = pd.DataFrame(
        {
            "id": frame["post_id"].astype(str),
            "text": frame["post_text"],
            "lang": "en",
            "label": (frame["label"] == "fake").astype(int),
            "split": "val",
        }
    )
    empty = pd.DataFrame({"id": ["empty"], "text": [""], "lang": ["en"], "label": [0], "split": ["val"]})
    return pd.concat([rows, empty], ignore_index=True)


class Counting:
    """Wraps a backend; counts items sent and can fail on a given call, like a killed run."""

    def __init__(self, inner, fail_on_call: int | None = None):
        self.inner, self.fail_on_call, self.calls, self.items = inner, fail_on_call, 0, 0
        self.context, self.truncate = inner.context, inner.truncate

    def _count(self, chats):
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise KeyboardInterrupt("simulated kill")
        self.items += len(chats)

    def score_labels(self, chats, labels):
        self._count(chats)
        return self.inner.score_labels(chats, labels)

    def generate(self, chats, max_new_tokens, groups=None):
        self._count(chats)
        self.groups = groups
        return self.inner.generate(chats, max_new_tokens, groups=groups)


def _annotate(cfg, cache_path, backend, posts, tasks=TASKS, prompts=None):
    cache = ResultCache(cache_path)
    annotator = Annotator(cfg, cache, lambda: backend, prompts)
    try:
        results = {}
        for task in tasks:
            requests, entries, _ = annotator.run_task(task, posts, progress=False)
            results[task] = (requests, entries)
    finally:
        cache.close()
    return assemble(posts, results, annotator.prompts)


@LOADS_SMOLLM2
def test_real_backend_scores_generates_and_nulls_are_explained(smollm2, posts, tmp_path):
    table = _annotate(CFG, tmp_path / "c.sqlite", smollm2, posts)
    scored = table["veracity_prob_fake"].iloc[:6]
    assert scored.between(0, 1).all() and (table["veracity_confidence"].iloc[:6] >= 0.5).all()
    assert (table["veracity_label_mass"].iloc[:6] > 0).all()
    # LGCL's zero-shot class is scored like veracity: every post with a text gets one
    assert table["zero_shot_label"].iloc[:6].notna().all()
    assert (table["zero_shot_label"].iloc[:6] == (table["zero_shot_prob_fake"].iloc[:6] >= 0.5)).all()
    for part in ("belief", "desire", "plan", "outcome"):
        assert table[f"intent_{part}"].iloc[:6].map(lambda s: isinstance(s, str) and len(s) > 0).all()
    # the empty post is never sent to the model and says why it is null
    last = table.iloc[-1]
    assert np.isnan(last["veracity_prob_fake"]) and last["veracity_null_reason"] == "empty text"
    assert last["zero_shot_null_reason"] == "empty text" and last["intents_null_reason"] == "empty text"
    assert (table["zero_shot_label"].isna() == table["zero_shot_null_reason"].notna()).all()


@LOADS_SMOLLM2
def test_logprob_probability_matches_the_label_softmax(smollm2):
    chats = [load_prompt("veracity").messages("Breaking: shark swims down a flooded highway.", "en")]
    labels = load_prompt("veracity").labels("en")
    [scores] = smollm2.score_labels(chats, labels)
    enc = smollm2._encode(chats)
    probs = smollm2.model(**enc).logits[0, -1].softmax(-1).detach().numpy()
    ids = backends.label_first_tokens(smollm2.tokenizer, labels)
    fake, real = probs[sorted(ids["fake"])].sum(), probs[sorted(ids["real"])].sum()
    assert scores["fake"] == pytest.approx(fake / (fake + real), rel=1e-4)
    assert scores["fake"] + scores["real"] == pytest.approx(1.0)


@LOADS_SMOLLM2
def test_length_sorted_batches_keep_input_order(smollm2, posts):
    """Batches are formed by prompt length; results must still line up with the input."""
    prompt = load_prompt("veracity")
    texts = posts["text"].iloc[:5].tolist()
    texts[1] = texts[1] + " " + texts[1] + " " + texts[1]  # the longest, in second place
    chats = [prompt.messages(text, "en") for text in texts]
    batched = smollm2.score_labels(chats, prompt.labels("en"))
    single = [smollm2.score_labels([chat], prompt.labels("en"))[0] for chat in chats]
    assert [b["fake"] for b in batched] == pytest.approx([s["fake"] for s in single], abs=1e-4)


class Evasive:
    """A backend whose generations never name a label (as SmolLM2's zero-shot answers mostly
    did: 260 of 272 UPFD PolitiFact articles) but whose next-token scores do."""

    context = 2048

    def truncate(self, text, max_tokens):
        return text, False

    def score_labels(self, chats, labels):
        return [{"fake": 0.25 + 0.5 * (i % 2), "mass": 0.4} for i in range(len(chats))]

    def generate(self, chats, max_new_tokens, groups=None):
        return ["It depends on the source."] * len(chats)


def test_every_article_with_a_text_gets_a_zero_shot_class(posts, tmp_path):
    table = _annotate(CFG, tmp_path / "c.sqlite", Evasive(), posts, tasks=("zero_shot",))
    assert table["zero_shot_label"].iloc[:6].notna().all()
    assert table["zero_shot_label"].iloc[:6].tolist() == [int(p >= 0.5) for p in table["zero_shot_prob_fake"].iloc[:6]]
    assert table["zero_shot_label"].isna().sum() == 1 and table["zero_shot_null_reason"].iat[6] == "empty text"


def test_generation_tasks_run_only_where_listed(posts):
    cfg = {"zero_shot": {"datasets": ["politifact"]}, "intents": {"datasets": ["llmfake"]}}
    assert tasks_for("mediaeval2016", cfg) == ["veracity"]
    assert tasks_for("politifact", cfg) == ["veracity", "zero_shot"]
    assert tasks_for("llmfake", cfg) == ["veracity"]  # intents are the llm_intents stage's
    assert task_rows("intents", "llmfake", posts, cfg) is None
    assert task_rows("intents", "politifact", posts, cfg) == []


def test_intents_of_an_unlisted_dataset_are_null_with_a_reason_and_load_no_model(posts, tmp_path):
    def no_backend():
        raise AssertionError("no request, so no model should load")

    cache = ResultCache(tmp_path / "c.sqlite")
    annotator = Annotator(CFG, cache, no_backend)
    requests, entries, stats = annotator.run_task("intents", posts, progress=False, rows=[])
    cache.close()
    assert stats["requests"] == 0 and stats["rows_not_requested"] == len(posts)
    table = assemble(posts, {"intents": (requests, entries)}, annotator.prompts)
    for part in ("belief", "desire", "plan", "outcome"):
        assert table[f"intent_{part}"].isna().all()
    assert (table["intents_null_reason"] == INTENTS_NOT_REQUESTED).all()


@LOADS_SMOLLM2
def test_veracity_scores_only_the_listed_splits(smollm2, posts, tmp_path):
    """llm.veracity.splits: rows of other splits are never sent to the model and say why."""
    split = posts.assign(split=["train", "val", "test", "train", "val", "test", "val"])
    rows = veracity_rows(split, {"veracity": {"splits": ["val", "test"]}})
    assert rows == [1, 2, 4, 5, 6]
    counting = Counting(smollm2)
    cache = ResultCache(tmp_path / "c.sqlite")
    annotator = Annotator(CFG, cache, lambda: counting)
    requests, entries, stats = annotator.run_task("veracity", split, progress=False, rows=rows)
    cache.close()
    assert counting.items == 4 and stats["rows_not_requested"] == 2
    table = assemble(split, {"veracity": (requests, entries)}, annotator.prompts)
    train = (split["split"] == "train").to_numpy()
    assert table["veracity_prob_fake"][train].isna().all()
    assert (table["veracity_null_reason"][train] == NOT_REQUESTED).all()
    assert table["veracity_prob_fake"].iloc[[1, 2, 4, 5]].between(0, 1).all()
    assert table["veracity_null_reason"].iloc[[1, 2, 4, 5]].isna().all()
    assert veracity_rows(split, {}) is None
    with pytest.raises(ValueError, match="llm.veracity.splits.*'dev'"):
        veracity_rows(split, {"veracity": {"splits": ["dev"]}})


@LOADS_SMOLLM2
def test_shared_prefix_generation_matches_separate_prompts(smollm2, posts):
    """Grouped generation runs each article once for its four perspectives and decodes
    greedily from a preallocated cache: the same paragraphs as one prompt at a time."""
    intents = load_prompt("intents")
    parts = intents.spec["perspectives"]
    texts = posts["text"].iloc[:3].tolist()
    chats = [intents.messages(text, "en", part) for text in texts for part in parts]
    groups = [i for i in range(len(texts)) for _ in parts]
    separate = [smollm2.generate([chat], 12)[0] for chat in chats]
    smollm2.batch_size = 6  # one article's four rows fit a batch, two do not: three batches
    try:
        grouped = smollm2.generate(chats, 12, groups=groups)
    finally:
        smollm2.batch_size = 2
    assert grouped == separate
    assert all(separate)
    with pytest.raises(ValueError, match="share no token prefix"):
        smollm2._greedy_shared_prefix([smollm2._torch.tensor([5, 6]), smollm2._torch.tensor([7, 6])], [range(2)], 2)


@LOADS_SMOLLM2
def test_share_prefix_groups_an_articles_perspectives_and_has_its_own_cache_keys(smollm2, posts, tmp_path):
    shared_cfg = CFG | {"batch_size": 4, "batches_per_commit": 2, "intents": CFG["intents"] | {"share_prefix": True}}
    plain = _annotate(CFG, tmp_path / "c.sqlite", smollm2, posts, tasks=("intents",))
    counting = Counting(smollm2)
    shared = _annotate(shared_cfg, tmp_path / "c.sqlite", counting, posts, tasks=("intents",))
    # six non-empty posts x four perspectives, none from the plain cache; one article a call
    assert counting.items == 24 and counting.calls == 6
    assert counting.groups == [4] * 4
    for part in ("belief", "desire", "plan", "outcome"):
        assert shared[f"intent_{part}"].tolist() == plain[f"intent_{part}"].tolist()


@LOADS_SMOLLM2
def test_interrupted_run_resumes_without_recomputing(smollm2, posts, tmp_path):
    path = tmp_path / "c.sqlite"
    killed = Counting(smollm2, fail_on_call=3)
    with pytest.raises(KeyboardInterrupt):
        _annotate(CFG, path, killed, posts, tasks=("veracity",))
    finished = killed.items
    assert finished == 4  # two committed batches of two

    resumed = Counting(smollm2)
    _annotate(CFG, path, resumed, posts, tasks=("veracity",))
    assert resumed.items == 6 - finished  # six non-empty posts, none recomputed

    again = Counting(smollm2)
    _annotate(CFG, path, again, posts, tasks=("veracity",))
    assert again.items == 0 and again.calls == 0


@LOADS_SMOLLM2
def test_prompt_version_change_recomputes_only_that_task(smollm2, posts, tmp_path):
    path = tmp_path / "c.sqlite"
    _annotate(CFG, path, smollm2, posts, tasks=("veracity", "zero_shot"))
    prompts = {task: load_prompt(task) for task in TASKS}
    bumped = prompts["zero_shot"].spec | {"version": prompts["zero_shot"].version + 1}
    prompts["zero_shot"] = type(prompts["zero_shot"])("zero_shot", bumped["version"], bumped)
    counting = Counting(smollm2)
    _annotate(CFG, path, counting, posts, tasks=("veracity", "zero_shot"), prompts=prompts)
    assert counting.items == 6 and counting.calls == 3  # zero-shot only, 3 batches of 2


@LOADS_SMOLLM2
def test_long_texts_are_cut_and_counted(smollm2, posts, tmp_path):
    long_posts = posts.assign(text=posts["text"].where(posts["text"] == "", posts["text"] + " word" * 200))
    cache = ResultCache(tmp_path / "c.sqlite")
    annotator = Annotator(CFG, cache, lambda: smollm2)
    _, _, stats = annotator.run_task("veracity", long_posts, progress=False)
    cache.close()
    assert stats["truncated"] == 6 and stats["computed"] == 6


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Fake.", ("fake", None)),
        ("real", ("real", None)),
        ("This is fake, not real", ("fake", None)),
        ("It is a realistic claim", (None, "no label word in answer")),
        ("", (None, "empty generation")),
    ],
)
def test_parse_label(answer, expected):
    assert parse_label(answer, {"fake": ["fake"], "real": ["real"]}) == expected


def test_parse_label_chinese():
    assert parse_label("这是假的", {"fake": ["假"], "real": ["真"]}) == ("fake", None)


def test_chinese_posts_get_the_chinese_prompt():
    prompt = load_prompt("veracity")
    assert "微博" in prompt.messages("测试", "zh")[-1]["content"]
    assert prompt.labels("zh-CN") == {"fake": ["假"], "real": ["真"]}
    assert "{text}" not in prompt.messages("a {text} b", "en")[-1]["content"].replace("a {text} b", "")


def test_calibration_and_top_fraction_accuracy():
    y = np.array([1, 1, 0, 0])
    assert expected_calibration_error(y, np.array([1.0, 1.0, 0.0, 0.0])) == 0.0
    assert expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 1.0
    quality = veracity_quality(np.array([1, 0, 1, 0] * 5), np.array([0.99, 0.6, 0.55, 0.45] * 5), top_fraction=0.25)
    assert quality["top_25pct_accuracy"] == 1.0 and quality["accuracy"] == 0.75


def test_server_top_logprobs_to_label_probabilities():
    top = [(" fake", np.log(0.6)), ("Real", np.log(0.2)), ("the", np.log(0.1)), ("", np.log(0.1))]
    scores = backends.label_probabilities_from_top(top, {"fake": ["fake"], "real": ["real"]})
    assert scores["fake"] == pytest.approx(0.75) and scores["mass"] == pytest.approx(0.8)
    assert backends.label_probabilities_from_top([("the", -0.1)], {"fake": ["fake"], "real": ["real"]}) is None


# --- OpenAI-compatible server: a local HTTP server speaking the chat-completions protocol ---
# (a stub of the server's API, not a real server: marked protocol_stub)


class _Server(BaseHTTPRequestHandler):
    requests: list = []
    failures_left = 0

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
        if type(self).failures_left:
            type(self).failures_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        if body.get("logprobs"):
            top = [{"token": "fake", "logprob": float(np.log(0.3))}, {"token": " real", "logprob": float(np.log(0.6))}]
            choice = {
                "message": {"role": "assistant", "content": " real"},
                "logprobs": {"content": [{"token": " real", "logprob": top[1]["logprob"], "top_logprobs": top}]},
            }
        else:
            choice = {"message": {"role": "assistant", "content": "  The author believes it.  "}}
        payload = json.dumps({"choices": [choice]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server(monkeypatch):
    _Server.requests, _Server.failures_left = [], 0
    httpd = HTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()


@pytest.mark.protocol_stub
def test_openai_backend_protocol_and_retries(server):
    _Server.failures_left = 2
    backend = backends.OpenAIBackend(
        "llama-3.1-8b",
        base_url=server,
        api_key_env="TEST_LLM_KEY",
        concurrency=2,
        max_retries=3,
        backoff_s=0.01,
        top_logprobs=5,
    )
    chats = [[{"role": "user", "content": f"post {i}"}] for i in range(3)]
    scores = backend.score_labels(chats, {"fake": ["fake"], "real": ["real"]})
    assert backend.retries == 2
    assert all(s["real"] == pytest.approx(2 / 3) for s in scores)
    sent = [r for r in _Server.requests if r["body"].get("logprobs")]
    assert {r["path"] for r in sent} == {"/v1/chat/completions"} and {r["auth"] for r in sent} == {"Bearer sk-test"}
    body = sent[0]["body"]
    assert body["model"] == "llama-3.1-8b" and body["max_tokens"] == 1 and body["temperature"] == 0.0
    assert body["top_logprobs"] == 5 and body["messages"][0]["content"].startswith("post ")
    assert backend.generate(chats[:1], 32) == ["The author believes it."]
    assert _Server.requests[-1]["body"]["max_tokens"] == 32


@pytest.mark.protocol_stub
def test_openai_backend_gives_up_with_a_clear_error(server):
    _Server.failures_left = 10
    backend = backends.OpenAIBackend("m", base_url=server, api_key_env="TEST_LLM_KEY", max_retries=1, backoff_s=0.01)
    with pytest.raises(backends.LLMUnavailable, match="HTTP 503"):
        backend.generate([[{"role": "user", "content": "x"}]], 4)


# --- vLLM: a stand-in module with vLLM's offline API shapes (vLLM cannot be installed here). ---
# It proves we call the API the stub expects, not that real vLLM behaves so: marked protocol_stub.


def _fake_vllm(tokenizer, calls):
    module = types.ModuleType("vllm")

    class SamplingParams:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs):
            calls.append(("init", kwargs))

        def get_tokenizer(self):
            return tokenizer

        def generate(self, prompts, params, use_tqdm=True):
            calls.append(("generate", prompts, params.kwargs))
            outputs = []
            for _ in prompts:
                if params.kwargs.get("logprobs"):
                    step = {
                        tokenizer.encode("fake", add_special_tokens=False)[0]: types.SimpleNamespace(
                            logprob=np.log(0.8), decoded_token="fake"
                        ),
                        tokenizer.encode(" real", add_special_tokens=False)[0]: types.SimpleNamespace(
                            logprob=np.log(0.2), decoded_token=None
                        ),
                    }
                    completion = types.SimpleNamespace(text="fake", logprobs=[step])
                else:
                    completion = types.SimpleNamespace(text=" an intent ", logprobs=None)
                outputs.append(types.SimpleNamespace(outputs=[completion]))
            return outputs

    module.LLM, module.SamplingParams = LLM, SamplingParams
    return module


@pytest.mark.protocol_stub
def test_vllm_backend_protocol(smollm2_tokenizer, monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "vllm", _fake_vllm(smollm2_tokenizer, calls))
    backend = backends.VLLMBackend("hf:/models/llama", tensor_parallel_size=4, max_model_len=2048, top_logprobs=7)
    assert calls[0] == (
        "init",
        {"model": "/models/llama", "tensor_parallel_size": 4, "max_model_len": 2048, "gpu_memory_utilization": 0.9},
    )
    chats = [[{"role": "user", "content": "post"}]] * 2
    scores = backend.score_labels(chats, {"fake": ["fake"], "real": ["real"]})
    assert [s["fake"] for s in scores] == pytest.approx([0.8, 0.8])
    _, prompts, params = calls[1]
    assert params == {"temperature": 0.0, "max_tokens": 1, "logprobs": 7}
    assert prompts[0].endswith("<|im_start|>assistant\n")  # chat template applied
    assert backend.generate(chats, 16) == ["an intent", "an intent"]
    assert calls[2][2] == {"temperature": 0.0, "max_tokens": 16}


def test_vllm_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(backends.LLMUnavailable, match=r"pip install -e '\.\[vllm\]'"):
        backends.VLLMBackend("hf:/models/llama")


def test_unknown_backend_and_model_are_clear_errors():
    with pytest.raises(backends.LLMUnavailable, match="unknown LLM backend"):
        backends.make_backend({"backend": "ollama"})
    with pytest.raises(backends.LLMUnavailable, match="unknown LLM 'gpt-7'"):
        backends.resolve_model("gpt-7")
