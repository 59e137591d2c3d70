"""LLM annotations per article: veracity pseudo labels with confidence (GLPN-LLM), zero-shot
labels (LGCL) and coarse intents (InSide), from swappable backends with a persistent cache."""
