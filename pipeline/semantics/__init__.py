"""Sentences and entities (spaCy), AMR graphs (amrlib, or a dependency-based PENMAN
substitute offline) and Wikipedia evidence linking into WikiAMR graphs."""
