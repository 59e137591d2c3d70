"""Canonical article schema, one adapter module per dataset, splits and ingest."""
