"""Fixtures for governance tests: one real temp store, several people using it."""

from __future__ import annotations

import pytest

from jupyter_modelops.client import Client
from jupyter_modelops.governance.client_api import GovernanceClientMixin


class GovClient(Client, GovernanceClientMixin):
    """``Client`` with the governance methods (a no-op once ``Client`` inherits the mixin)."""


@pytest.fixture
def people(mo_home):
    """``people("alice")`` is a client of the test's store acting as alice (the embedded
    store gives every user every role: separation of duties is by name)."""
    made = {}

    def person(name: str) -> GovClient:
        if name not in made:
            made[name] = GovClient(home=str(mo_home), user=name)
        return made[name]

    yield person
    for c in made.values():
        c.close()


@pytest.fixture
def alice(people):
    return people("alice")


@pytest.fixture
def bob(people):
    return people("bob")


@pytest.fixture
def carol(people):
    return people("carol")


@pytest.fixture(scope="session")
def cancer_split():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]  # small and quick
    return train_test_split(X, y, test_size=0.3, random_state=0)


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
