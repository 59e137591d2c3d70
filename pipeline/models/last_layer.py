"""The text encoder's last layer, trainable: InSide's "bert-base-uncased ... with the last layer
conventionally fine-tuned" (§4.1).

The frozen layers below it run once per distinct text, and their token states stay in
memory; each forward pass runs only the last layer, then the encoder's own pooling (the mean
over tokens, L2-normalised, as `HFTextEncoder` does). Before any training step it therefore
gives the vectors the graphs were built with, which `check_reproduces` verifies.

Pickling keeps the layer's weights only: the frozen encoder and the token states are loaded
and computed again for the texts of whatever is scored next.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from pipeline.features.registry import text_encoder
from pipeline.progress import progress_bar

CHUNK = 256  # texts per pass through the layer, sorted by length so that padding stays short


class TrainableLastLayer(nn.Module):
    def __init__(self, encoder_name: str, device: str):
        super().__init__()
        self.encoder_name, self.device = encoder_name, device
        self._encoder = self._load()
        self.layer = copy.deepcopy(self._encoder.model.encoder.layer[-1]).train()
        self._states: dict[str, torch.Tensor] = {}

    def _load(self):
        return text_encoder(self.encoder_name, torch.device(self.device))[0]

    def __getstate__(self):
        return self.__dict__ | {"_encoder": None, "_states": {}}

    @torch.no_grad()  # not inference_mode: the states feed a layer that trains
    def prepare(self, texts: list[str], progress: bool = True) -> None:
        """Runs the frozen layers once on each text not seen yet and keeps its token states."""
        new = sorted({t for t in texts if t not in self._states}, key=len, reverse=True)
        if not new:
            return
        if self._encoder is None:
            self._encoder = self._load()
        encoder = self._encoder
        bar = progress_bar(range(0, len(new), 64), desc="frozen encoder layers", unit="batch", disable=not progress)
        for first in bar:
            chunk = new[first : first + 64]
            batch = encoder.tokenizer(
                chunk, padding=True, truncation=True, max_length=encoder.max_length, return_tensors="pt"
            ).to(self.device)
            states = encoder.model(**batch, output_hidden_states=True).hidden_states[-2]
            for text, state, length in zip(chunk, states, batch["attention_mask"].sum(1).tolist()):
                self._states[text] = state[:length].clone()

    def forward(self, texts: list[str]) -> torch.Tensor:
        """(len(texts), d): each text's pooled, normalised output of the trainable last layer."""
        order = np.argsort([len(self._states[t]) for t in texts], kind="stable")
        pooled = []
        for first in range(0, len(texts), CHUNK):
            states = [self._states[texts[i]] for i in order[first : first + CHUNK]]
            lengths = torch.tensor([len(s) for s in states], device=self.device)
            mask = torch.arange(int(lengths.max()), device=self.device)[None] < lengths[:, None]
            # the additive mask BERT's attention takes: padding keys get the dtype's minimum
            additive = (~mask)[:, None, None, :].float() * torch.finfo(torch.float32).min
            out = self.layer(pad_sequence(states, batch_first=True), attention_mask=additive)
            out = out[0] if isinstance(out, tuple) else out
            pooled.append((out * mask[..., None]).sum(1) / lengths[:, None])
        vectors = torch.cat(pooled).index_select(0, torch.as_tensor(np.argsort(order), device=self.device))
        return F.normalize(vectors, dim=-1)

    def check_reproduces(self, texts: list[str], stored: torch.Tensor, tolerance: float = 1e-4) -> None:
        """Raises unless the untrained layer gives the vectors `stored` for `texts` (the graph's
        node features), i.e. unless this is the encoder that built the graphs."""
        was_training = self.training
        self.eval()
        with torch.no_grad():
            gap = float((self(texts) - stored.to(self.device)).abs().max())
        self.train(was_training)
        if gap > tolerance:
            raise ValueError(
                f"text encoder {self.encoder_name!r} does not reproduce the sentence graphs' node vectors "
                f"(largest difference {gap:.3g}): train.inside.text_encoder must name the encoder of "
                "embed.text that built them"
            )
