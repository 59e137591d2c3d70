"""A tiny randomly initialised Llama with the packaged SmolLM2 tokenizer: real transformers code,
milliseconds an item, for tests that need an LLM whose weights they control."""

from __future__ import annotations

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from pipeline.llm.backends import resolve_model


def tiny_llama(seed: int):
    """(tokenizer, model): two layers, 64 wide; the output layer's weights are spread out, since a
    random init is near-uniform over the vocabulary and would give every label the same score."""
    source, gguf = resolve_model("smollm2-135m")
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight.normal_(0, 1.0)
    return tokenizer, model
