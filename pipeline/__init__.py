"""Reproducible fake-news detection pipeline."""

__version__ = "0.1.0"
