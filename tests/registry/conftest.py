"""Fixtures for registry tests: small real datasets and fitted models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cancer():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def cancer_model(cancer):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="session")
def iris_arrays():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.fixture
def blob_path(client):
    """Where the local artifact store keeps a blob (to tamper with it on disk)."""

    def path(digest: str) -> Path:
        return Path(client.config.home) / "artifacts" / "sha256" / digest[:2] / digest

    return path


@pytest.fixture
def put_package(client):
    """Store a hand-made package (bypassing the flavors); returns its manifest digest."""

    def put(flavor: str, files: dict, flavor_info: dict | None = None, requires_trust: bool = False) -> str:
        entries = {}
        for rel, data in files.items():
            stored = client._call("put_blob", data=data)
            entries[rel] = {"digest": stored["digest"], "size": stored["size"]}
        manifest = {"format": 1, "flavor": flavor, "flavor_info": flavor_info or {}, "files": entries,
                    "signature": None, "requires_trust": requires_trust, "created_with": {}}
        return client._call("put_blob", data=json.dumps(manifest).encode())["digest"]

    return put
