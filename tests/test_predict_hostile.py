"""fnd predict against hostile or surprising input: a dataset argument that is a path, a model
file linked out of models/, a decompression-bomb image, spreadsheet formulas in the CSV output,
a language the models never saw, and a batch long enough to need a progress bar.

The project here is a scratch folder: a stub model pickled under models/logreg/politifact and
a stub featuriser, so that predict's own checks and loop run in a second without encoders."""

from __future__ import annotations

import csv
import json
import pickle
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from pipeline import predict as scoring
from pipeline.cli import app
from pipeline.errors import DEBUG_ENV
from pipeline.features.images import CORRUPT
from pipeline.predict import PredictError, check_images, language_warning, load_models, read_items, write_results

PARAMS = {"datasets": {"politifact": "fakenewsnet"}}


class StubModel:
    """A trained model's interface: P(fake) per row."""

    def predict_proba(self, data):
        return np.full(len(data.ids), 0.25)


class StubFeaturiser:
    """Featuriser's interface without encoders: zero text vectors, no images."""

    made = 0
    has_images = False

    def __init__(self, dataset, params, data_root):
        StubFeaturiser.made += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def inputs(self, items, reads):
        return {"text": np.zeros((len(items), 4), np.float32), "has_image": np.zeros(len(items), bool)}, None


class Marker:
    """Unpickling this writes `path`: what a crafted model.pkl could do with any code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (str(self.path), "w")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A scratch project as the working directory: a stub logreg trained on English politifact
    articles, and a crafted pickle at evil/model.pkl, outside models/."""
    root = tmp_path / "project"
    folder = root / "models/logreg/politifact"
    folder.mkdir(parents=True)
    (folder / "model.pkl").write_bytes(pickle.dumps({0: StubModel(), 1: StubModel()}))
    (folder / "train.json").write_text(json.dumps([{"seed": 0}, {"seed": 1}]))
    (root / "data/interim/politifact").mkdir(parents=True)
    pd.DataFrame({"id": ["a"], "lang": ["en"]}).to_parquet(root / "data/interim/politifact/articles.parquet")
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    evil = tmp_path / "project/evil"
    evil.mkdir()
    (evil / "model.pkl").write_bytes(pickle.dumps(Marker(tmp_path / "pwned")))
    (evil / "train.json").write_text(json.dumps([{"seed": 0}]))
    monkeypatch.chdir(root)
    monkeypatch.setattr(scoring, "Featuriser", StubFeaturiser)
    monkeypatch.setenv(DEBUG_ENV, "0")
    StubFeaturiser.made = 0
    return root


def _batch(folder, rows, name="batch.jsonl"):
    path = folder / name
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


# --- 1. the dataset argument names a folder under models/, never a path ---


@pytest.mark.parametrize("dataset", ["../../evil", "{evil}", "politifact/../../../evil", ".."])
def test_a_dataset_path_never_unpickles_a_file(project, dataset):
    dataset = dataset.format(evil=project / "evil")
    with pytest.raises(PredictError, match=re.escape(f"dataset {dataset!r} is a path, not a dataset name")) as err:
        load_models("logreg", dataset, PARAMS)
    assert "use one of: politifact" in str(err.value)
    assert not (project.parent / "pwned").exists()


def test_a_dataset_params_does_not_list_is_refused(project):
    with pytest.raises(PredictError, match="dataset 'evil' is not in params.yaml's datasets; use one of: politifact"):
        load_models("logreg", "evil", PARAMS)


def test_a_path_listed_as_a_dataset_in_params_is_still_refused(project):
    with pytest.raises(PredictError, match="is a path, not a dataset name; use one of: politifact$"):
        load_models("logreg", "../../evil", {"datasets": {"politifact": "x", "../../evil": "x"}})
    assert not (project.parent / "pwned").exists()


def test_a_model_file_linked_out_of_models_is_not_loaded(project):
    linked = project / "models/logreg/politifact/model.pkl"
    linked.unlink()
    linked.symlink_to(project / "evil/model.pkl")
    outside = "model.pkl: resolves to .*/evil/model.pkl, outside .*/models/logreg/politifact; models are loaded only"
    with pytest.raises(PredictError, match=outside):
        load_models("logreg", "politifact", PARAMS)
    assert not (project.parent / "pwned").exists()


def test_the_cli_refuses_a_dataset_path_in_one_line(project):
    result = CliRunner().invoke(app, ["predict", "logreg", "../../evil", "--text", "a post"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "error: dataset '../../evil' is a path, not a dataset name; use one of: politifact" in result.output
    assert not (project.parent / "pwned").exists()


def test_a_listed_dataset_still_scores(project):
    items = scoring.single_item("a post")
    [result] = scoring.predict("logreg", "politifact", items, PARAMS, project, progress=False)
    assert result["prob_fake"] == 0.25 and result["prob_fake_by_seed"] == {0: 0.25, 1: 0.25}


# --- 4. a long batch shows its progress ---


def test_a_batch_shows_progress_at_every_chunk_on_stderr(project, monkeypatch, capsys):
    monkeypatch.setattr(scoring, "CHUNK", 2)
    items = read_items(_batch(project, [{"text": f"post {k}"} for k in range(5)]))
    results = scoring.predict("logreg", "politifact", items, PARAMS, project)
    out, err = capsys.readouterr()
    assert len(results) == 5 and out == ""
    # stderr is not a terminal here: a line per update (pipeline/progress.py), not a tqdm bar
    for shown in (
        "fnd predict: features: 2/5 item (40%)",
        "fnd predict: features: 4/5 item (80%)",
        "fnd predict: features: done, 5/5 item (100%)",
        "fnd predict: scoring: 1/2 seed (50%)",
        "fnd predict: scoring: done, 2/2 seed (100%)",
    ):
        assert shown in err


def test_progress_false_is_quiet(project, capsys):
    items = read_items(_batch(project, [{"text": f"post {k}"} for k in range(5)]))
    scoring.predict("logreg", "politifact", items, PARAMS, project, progress=False)
    assert capsys.readouterr() == ("", "")


# --- 5. a language the models never saw gets a warning ---

RUSSIAN = "Акула плавает по шоссе в Хьюстоне после урагана, 2017"
CHINESE = "飓风过后鲨鱼在休斯顿的高速公路上游泳"


def _language_items(folder):
    return read_items(
        _batch(
            folder,
            [
                {"id": "ru", "text": RUSSIAN},  # no lang field: Cyrillic script
                {"id": "zh", "text": CHINESE, "lang": "zh"},
                {"id": "es", "text": "Tiburón en la autopista de Houston", "lang": "es"},
                {"id": "en-us", "text": "Shark on a Houston highway", "lang": "en-US"},
                {"id": "en", "text": "Shark on a Houston highway"},
                {"id": "quote", "text": f"A shark on a Houston highway, as the caption said: «{RUSSIAN[:12]}»"},
            ],
        )
    )


def test_items_in_another_language_than_the_training_data_are_named(tmp_path):
    message = language_warning(_language_items(tmp_path), "politifact", {"en"})
    assert message == (
        "3 of 6 items may not be in politifact's training language (en), by their lang field or script: "
        "ru, zh, es; their scores may be unreliable"
    )


def test_the_language_heuristic_trusts_multilingual_and_non_english_training_data(tmp_path):
    items = _language_items(tmp_path)
    assert language_warning(items, "mediaeval2016", {"mul"}) is None
    assert "2 of 6 items" in language_warning(items, "weibo", {"zh"})  # es and en-US; no script guess for zh data


def test_a_warning_names_the_first_ids_only(tmp_path):
    items = read_items(_batch(tmp_path, [{"id": f"x{k}", "text": CHINESE} for k in range(8)]))
    assert "8 of 8 items" in language_warning(items, "politifact", {"en"})
    assert ": x0, x1, x2, x3, x4, ...;" in language_warning(items, "politifact", {"en"})


def test_predict_warns_before_scoring_and_still_scores(project, capsys):
    items = _language_items(project)
    warnings = []
    results = scoring.predict("logreg", "politifact", items, PARAMS, project, progress=False, warn=warnings.append)
    assert len(results) == 6 and len(warnings) == 1 and "ru, zh, es" in warnings[0]
    scoring.predict("logreg", "politifact", items, PARAMS, project, progress=False)
    assert capsys.readouterr().err.startswith("warning: 3 of 6 items may not be in politifact's training language")


# --- 6. CSV output runs no spreadsheet formula ---

HOSTILE_IDS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"]


def _results(ids):
    return [
        {
            "id": item_id,
            "method": "logreg",
            "trained_on": "politifact",
            "label": "real",
            "prob_fake": -0.0 if k == 0 else 0.25,
            "prob_fake_by_seed": {0: 0.25},
            "explanation": None,
        }
        for k, item_id in enumerate(ids)
    ]


def _csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_csv_cells_that_start_a_formula_get_a_quote(tmp_path):
    write_results(_results(HOSTILE_IDS), tmp_path / "out.csv")
    rows = _csv(tmp_path / "out.csv")
    assert [row["id"] for row in rows] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "plain",
        "a=b",
    ]
    assert rows[0]["prob_fake"] == "-0.0" and rows[1]["prob_fake"] == "0.25"  # numbers stay numbers
    assert rows[0]["prob_fake_by_seed"] == '{"0": 0.25}' and rows[0]["explanation"] == "null"


def test_the_cli_writes_neutralised_csv_and_untouched_jsonl(project, monkeypatch):
    monkeypatch.setattr(scoring, "predict", lambda *args, **kwargs: _results(HOSTILE_IDS))
    batch = _batch(project, [{"text": "a post"}])
    result = CliRunner().invoke(app, ["predict", "logreg", "politifact", "--input", str(batch), "--output", "o.csv"])
    assert result.exit_code == 0, result.output
    assert _csv(project / "o.csv")[0]["id"] == '\'=HYPERLINK("http://x")'
    result = CliRunner().invoke(app, ["predict", "logreg", "politifact", "--input", str(batch), "--output", "o.jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in (project / "o.jsonl").read_text().splitlines()] == HOSTILE_IDS


def test_the_predict_help_says_how_csv_cells_are_neutralised():
    result = CliRunner().invoke(app, ["predict", "--help"], terminal_width=200)
    assert "leading '" in result.output and "OWASP" in result.output


# --- 7. an image that would not load is refused before any slow work ---


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A 20000 x 20000 PNG: 48 kB on disk, 400 megapixels decoded."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("1", (20000, 20000)).save(path, optimize=True)
    return path


def test_a_decompression_bomb_is_a_clear_error_naming_the_item(project, bomb):
    from pipeline.features.images import TOO_LARGE  # load_image's status for it (pipeline/features/images.py)

    rows = [{"id": "ok", "text": "a post"}, {"id": "big", "text": "b", "image": str(bomb)}]
    items = read_items(_batch(project, rows))
    message = f"item big [image]: {bomb}: {TOO_LARGE}; fix the image or leave it out"
    with pytest.raises(PredictError, match=re.escape(message)):
        check_images(items)
    with pytest.raises(PredictError, match=re.escape(message)):
        scoring.predict("logreg", "politifact", items, PARAMS, project, progress=False)
    assert StubFeaturiser.made == 0  # refused before any encoder was loaded


def test_the_cli_refuses_a_bomb_in_one_line(project, bomb):
    from pipeline.features.images import TOO_LARGE

    result = CliRunner().invoke(app, ["predict", "logreg", "politifact", "--text", "a post", "--image", str(bomb)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"error: item item-1 [image]: {bomb}: {TOO_LARGE}" in result.output


def test_a_corrupt_image_is_a_clear_error_too(project):
    (project / "broken.jpg").write_bytes(b"not an image")
    items = read_items(_batch(project, [{"id": "x", "text": "a post", "image": "broken.jpg"}]))
    with pytest.raises(PredictError, match=re.escape(f"item x [image]: {project / 'broken.jpg'}: {CORRUPT}")):
        check_images(items)
