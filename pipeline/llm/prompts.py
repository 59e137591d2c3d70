"""Versioned prompt files (prompts/<task>.yaml) rendered into chat messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.errors import BadInput, MissingFile

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Prompt:
    task: str
    version: int
    spec: dict

    def language(self, lang: str | None) -> str:
        """Chinese posts get the zh variant; everything else the English one."""
        return "zh" if (lang or "").lower().startswith("zh") else "en"

    def messages(self, text: str, lang: str | None, part: str = "user") -> list[dict]:
        templates = self.spec["templates"][self.language(lang)]
        messages = [{"role": "system", "content": templates["system"]}] if "system" in templates else []
        # replace, not str.format: article texts may contain braces
        return messages + [{"role": "user", "content": templates[part].replace("{text}", text)}]

    def labels(self, lang: str | None) -> dict[str, list[str]]:
        return self.spec["labels"][self.language(lang)]


def load_prompt(task: str, directory: Path = PROMPTS_DIR) -> Prompt:
    path = Path(directory) / f"{task}.yaml"
    if not path.is_file():
        raise MissingFile(f"{path}: prompt file not found")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key in ("version", "templates"):
        if key not in spec:
            raise BadInput(f"{path}: missing '{key}'")
    missing = [lang for lang in LANGUAGES if lang not in spec["templates"]]
    if missing:
        raise BadInput(f"{path}: no template for language(s) {missing}")
    return Prompt(task, int(spec["version"]), spec)
