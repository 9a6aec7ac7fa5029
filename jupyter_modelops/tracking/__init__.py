"""Experiment tracking services: runs, params, metrics, artifacts, datasets, search."""
