"""``mo.autolog()`` against real scikit-learn and a real temp store."""

from __future__ import annotations

import importlib.util
import json
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import ClassifierMixin  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from jupyter_modelops.tracking.autolog import AutologWarning, run_id_for  # noqa: E402


@pytest.fixture
def auto(mo):
    """Autolog on for one test, and always off again (sklearn's classes are shared)."""
    mo.autolog()
    yield mo
    mo.autolog(disable=True)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True, as_frame=True)


def _runs(mo):
    return mo.get_client().search_runs(limit=1000)


def _artifact_json(mo, run_id, name):
    return json.loads(mo.get_client().read_artifact(run_id, name))


def test_classifier_params_metrics_tags_and_dataset(auto, iris):
    X, y = iris
    clf = LogisticRegression(C=0.5, max_iter=500)
    assert clf.fit(X, y) is clf
    run = auto.get_run(run_id_for(clf))
    assert run.status == "FINISHED" and run.name == "LogisticRegression"
    assert run.params["C"] == "0.5" and run.params["max_iter"] == "500"
    assert run.tags["estimator_name"] == "LogisticRegression"
    assert run.tags["estimator_class"].endswith("LogisticRegression")
    for key in ("accuracy", "precision", "recall", "f1", "log_loss", "roc_auc", "score"):
        assert f"training_{key}" in run.metrics, key
    assert run.metrics["training_accuracy"] == pytest.approx(np.mean(clf.predict(X) == y))
    [dataset] = auto.get_client().list_inputs(run.id)
    assert (dataset.name, dataset.context, dataset.num_rows) == ("training", "training", 150)


def test_regressor_metrics_and_sample_weight(auto):
    X, y = load_diabetes(return_X_y=True)
    weight = np.linspace(0.5, 2.0, len(y))
    model = Ridge(alpha=0.3).fit(X, y, sample_weight=weight)
    run = auto.get_run(run_id_for(model))
    assert run.params["alpha"] == "0.3"
    assert {"training_r2", "training_mse", "training_rmse", "training_mae",
            "training_score"} <= set(run.metrics)
    assert run.metrics["training_rmse"] == pytest.approx(run.metrics["training_mse"] ** 0.5)
    assert run.metrics["training_r2"] == pytest.approx(r2_score(y, model.predict(X), sample_weight=weight))


def test_binary_classifier_and_clusterer(auto):
    X, y = load_breast_cancer(return_X_y=True)
    clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    assert 0.9 < auto.get_run(run_id_for(clf)).metrics["training_roc_auc"] <= 1.0
    km = KMeans(n_clusters=3, n_init=2, random_state=0)
    km.fit_predict(X[:300])
    metrics = auto.get_run(run_id_for(km)).metrics
    assert "training_silhouette" in metrics and "training_score" in metrics


def test_validation_scores_inside_an_explicit_run(auto, iris):
    X, y = iris
    X_tr, X_a, y_tr, y_a = train_test_split(X, y, test_size=0.4, random_state=0)
    X_b, y_b = X_a.iloc[:20], y_a.iloc[:20]
    with auto.start_run(name="explicit") as run:
        clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X_tr, y_tr)
        assert run_id_for(clf) == run.id
        first = clf.score(X_a, y_a)
        clf.score(X_b, y_b)
        clf.score(X_a, y_a)  # same data again: the same metric, next step
    client = auto.get_client()
    stored = client.get_run(run.id)
    assert stored.status == "FINISHED" and stored.name == "explicit"
    assert stored.metrics["val_score"] == pytest.approx(first)
    assert "val_1_score" in stored.metrics
    assert [m.step for m in client.get_metric_history(run.id, "val_score")] == [0, 1]
    assert {d.name for d in client.list_inputs(run.id)} == {"training", "val", "val_1"}
    assert len(_runs(auto)) == 1


def test_score_after_the_auto_run_ended_is_not_an_error(auto, iris):
    X, y = iris
    clf = LogisticRegression(max_iter=500).fit(X, y)
    with pytest.warns(AutologWarning, match="has ended") as record:
        assert clf.score(X, y) == pytest.approx(auto.get_run(run_id_for(clf)).metrics["training_score"])
    assert record[0].filename == __file__  # pointed at the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only once
        clf.score(X, y)
    assert "val_score" not in auto.get_run(run_id_for(clf)).metrics


def test_pipeline_logs_one_run(auto, iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    [run] = _runs(auto)
    assert run.id == run_id_for(pipe) and run.tags["estimator_name"] == "Pipeline"
    assert run.params["logisticregression__max_iter"] == "500"
    assert run.params["standardscaler__with_mean"] == "True"
    assert not hasattr(pipe, "fit_transform")  # available_if still decides


def test_grid_search_parent_and_child_runs(auto, iris):
    X, y = iris
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    search = GridSearchCV(LogisticRegression(max_iter=500), grid, cv=3).fit(X, y)
    client = auto.get_client()
    parent = client.get_run(run_id_for(search))
    assert parent.params["best_C"] == str(search.best_params_["C"])
    assert parent.metrics["best_score"] == pytest.approx(search.best_score_)
    names = {a.path for a in client.list_artifacts(parent.id)}
    assert {"cv_results.csv", "best_params.json", "feature_importance.json"} <= names
    children = client.child_runs(parent.id)
    assert len(children) == 4 and len(_runs(auto)) == 5
    assert sorted(float(c.params["C"]) for c in children) == grid["C"]
    for child in children:
        assert child.status == "FINISHED"
        assert {"mean_test_score", "std_test_score", "rank_test_score", "mean_fit_time"} <= set(child.metrics)
    best = min(children, key=lambda c: c.metrics["rank_test_score"])
    assert best.metrics["mean_test_score"] == pytest.approx(search.best_score_)
    # the search's own refit and candidate fits are not runs; best_estimator_ is linked
    assert run_id_for(search.best_estimator_) == parent.id


def test_max_tuning_runs_keeps_the_best_ranks(mo, iris):
    X, y = iris
    mo.autolog(max_tuning_runs=2, log_models=False, log_importance=False)
    try:
        search = GridSearchCV(KNeighborsClassifier(), {"n_neighbors": [1, 3, 5, 15, 40]}, cv=3).fit(X, y)
    finally:
        mo.autolog(disable=True)
    children = mo.get_client().child_runs(run_id_for(search))
    assert sorted(c.metrics["rank_test_score"] for c in children) == [1.0, 2.0]


@pytest.mark.parametrize("estimator, method", [
    (RandomForestClassifier(n_estimators=10, random_state=0), "feature_importances_"),
    (LogisticRegression(max_iter=500), "coef_"),
    (KNeighborsClassifier(), "permutation"),
])
def test_feature_importance_artifact(auto, iris, estimator, method):
    X, y = iris
    estimator.fit(X, y)
    run_id = run_id_for(estimator)
    report = _artifact_json(auto, run_id, "feature_importance.json")
    assert report["method"] == method
    assert {r["feature"] for r in report["importances"]} == set(X.columns)
    values = [r["importance"] for r in report["importances"]]
    assert values == sorted(values, reverse=True)
    if importlib.util.find_spec("matplotlib"):
        png = auto.get_client().read_artifact(run_id, "feature_importance.png")
        assert png.startswith(b"\x89PNG")


def test_failed_fit_marks_the_run_failed_and_raises(auto, iris):
    X, y = iris
    bad = X.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(ValueError):
        LogisticRegression().fit(bad, y)
    [run] = _runs(auto)
    assert run.status == "FAILED" and run.error_type == "ValueError"
    assert auto.active_run() is None


def test_fit_inside_a_user_run_does_not_end_it(auto, iris):
    X, y = iris
    with auto.start_run() as run:
        LogisticRegression(max_iter=500).fit(X, y)
        assert auto.active_run() is run
        auto.log_metric("custom", 1.0)
    stored = auto.get_run(run.id)
    assert "training_accuracy" in stored.metrics and stored.metrics["custom"] == 1.0
    assert len(_runs(auto)) == 1


def test_cross_validation_folds_are_not_runs(auto, iris):
    X, y = iris
    cross_val_score(LogisticRegression(max_iter=500), X, y, cv=3)
    assert len(_runs(auto)) == 0


def test_a_logging_failure_is_a_warning_not_a_failed_fit(auto, iris, monkeypatch):
    X, y = iris
    client = auto.get_client()

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(client, "log_metrics", broken)
    with pytest.warns(AutologWarning, match="disk full"):
        clf = LogisticRegression(max_iter=500).fit(X, y)
    assert clf.predict(X[:3]).shape == (3,)
    assert auto.get_run(run_id_for(clf)).status == "FINISHED"


def test_disable_restores_fit(mo, iris):
    X, y = iris
    owners = {"fit": LogisticRegression, "score": ClassifierMixin}
    originals = {k: cls.__dict__[k] for k, cls in owners.items()}
    try:
        mo.autolog()
        mo.autolog()  # enabling twice wraps once
        assert LogisticRegression.__dict__["fit"].__wrapped__ is originals["fit"]
    finally:
        mo.autolog(disable=True)
    assert {k: cls.__dict__[k] for k, cls in owners.items()} == originals
    LogisticRegression(max_iter=500).fit(X, y)
    assert len(_runs(mo)) == 0


def test_logged_model_loads_from_the_registry(auto, iris):
    pytest.importorskip("jupyter_modelops.registry.api", reason="registry API not built yet")
    X, y = iris
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    run = auto.get_run(run_id_for(clf))
    assert "autolog.model_error" not in run.tags, run.tags.get("autolog.model_error")
    auto.register_model(f"runs:/{run.id}/model", "m")
    loaded = auto.load_model("m")
    np.testing.assert_array_equal(np.asarray(loaded.predict(X[:10])).ravel(), clf.predict(X[:10]))
