"""Graph construction: cross-modal similarity graph, propagation graphs, sentence-entity
graphs and WikiAMR graphs, saved as PyTorch Geometric data keyed by article id."""
