"""One module per detection method; `METHODS` maps method names to their classes."""
