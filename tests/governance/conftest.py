"""Fixtures for governance tests: one real temp store, several people using it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cancer_fit(cancer_split):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte, ytr, yte = cancer_split
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(Xtr, ytr)


@pytest.fixture
def registered(alice, cancer_split, cancer_fit):
    """alice trains in a tracked run (metrics, training data, code hash) and registers v1."""

    def register(name: str = "cancer", purpose: str | None = "Flag biopsies for a second reading"):
        Xtr, Xte, ytr, yte = cancer_split
        with alice.start_run("governance", code_hash="c0de" * 16) as run:
            run.log_metric("accuracy", float(cancer_fit.score(Xte, yte)))
            run.log_input(Xtr, "biopsies-train")
            v = alice.register_model(cancer_fit, name, run_id=run.id, input_example=Xtr.head(3))
        if purpose:
            alice.set_model_info(name, purpose=purpose, risk_tier="high")
        return v

    return register


def actions(client, **kw) -> list[str]:
    return [e.action for e in client.audit_entries(**kw)]
