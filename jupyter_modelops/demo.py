"""The headless tour behind ``jupyter modelops demo``.

It does what a data scientist does in the quickstart notebook, on the breast-cancer
dataset that ships with scikit-learn: track three candidate models, compare them,
register the best, move the ``champion`` alias to it, load it back and predict.
"""

from __future__ import annotations

import time
from typing import TextIO

MODEL_NAME = "breast-cancer-classifier"


def _candidates(seed: int):
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return [
        ("logreg", {"C": 1.0, "max_iter": 1000},
         lambda p: make_pipeline(StandardScaler(), LogisticRegression(**p))),
        ("random-forest", {"n_estimators": 200, "max_depth": 6, "random_state": seed},
         lambda p: RandomForestClassifier(**p)),
        ("gradient-boosting", {"n_estimators": 150, "learning_rate": 0.1, "max_depth": 2, "random_state": seed},
         lambda p: GradientBoostingClassifier(**p)),
    ]


def run_demo(client, experiment: str = "demo", out: TextIO | None = None, seed: int = 7) -> dict:
    """Run the tour and print a readable summary; returns what it made (for tests)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    from .cli.table import render

    def say(text: str = "") -> None:
        if out is not None:
            print(text, file=out, flush=True)

    t0 = time.perf_counter()
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=seed, stratify=data.target
    )
    say(f"jupyter-modelops demo — store: {client.transport.describe()}")
    say(f"dataset: breast cancer (scikit-learn), {len(X_train)} train / {len(X_test)} test rows, "
        f"{X_train.shape[1]} features\n")

    run_ids = []
    for label, params, make in _candidates(seed):
        with client.start_run(experiment, name=label, tags={"demo": "true"}) as run:
            run.log_params({"model": label, **params})
            run.log_input(X_train, "breast-cancer-train", context="training",
                          source="sklearn.datasets.load_breast_cancer")
            run.log_input(X_test, "breast-cancer-test", context="evaluation",
                          source="sklearn.datasets.load_breast_cancer")
            started = time.perf_counter()
            model = make(params).fit(X_train, y_train)
            proba = model.predict_proba(X_test)[:, 1]
            pred = (proba >= 0.5).astype(int)
            run.log_metrics({
                "accuracy": accuracy_score(y_test, pred),
                "f1": f1_score(y_test, pred),
                "roc_auc": roc_auc_score(y_test, proba),
                "fit_seconds": time.perf_counter() - started,
            })
            run.log_model(model, "model", input_example=X_train.head(5))
            run_ids.append(run.id)
        say(f"  tracked run {run.id[:8]}  {label}")

    say("\ncompare (params and metrics; * marks values that differ):")
    table = client.compare_runs(run_ids)
    say(_compare_text(table))

    best = client.search_runs("tags.demo = 'true' and status = 'FINISHED'", experiment=experiment,
                              order_by=["metrics.roc_auc DESC", "metrics.accuracy DESC"], limit=1)[0]
    version = client.register_model(f"runs:/{best.id}/model", MODEL_NAME,
                                    description=f"Best of the demo runs by ROC AUC ({best.name}).")
    client.set_alias(MODEL_NAME, "champion", version.version)
    say(f"\nbest run: {best.name} ({best.id[:8]}) roc_auc={best.metrics['roc_auc']:.4f}")
    say(f"registered {MODEL_NAME} version {version.version}; alias champion -> v{version.version}")

    loaded = client.load_model(MODEL_NAME, alias="champion")
    sample = X_test.head(5)
    preds = loaded.predict(sample)
    rows = [[i, int(p), int(t)] for i, (p, t) in enumerate(zip(preds, y_test.head(5)))]
    say("\nloaded champion back and predicted 5 held-out rows:")
    say(render(["row", "predicted", "actual"], rows))
    say(f"\ndone in {time.perf_counter() - t0:.1f}s. Next: `jupyter modelops runs`, "
        f"`jupyter modelops models {MODEL_NAME}`")
    return {"run_ids": run_ids, "best_run_id": best.id, "version": version.version,
            "predictions": [int(p) for p in preds]}


def _compare_text(table) -> str:
    from .cli.table import render

    frame = table.reset_index() if "key" not in getattr(table, "columns", []) else table
    cols = [c for c in frame.columns if c not in ("differs",)]
    rows = []
    for _, row in frame.iterrows():
        mark = "*" if bool(row.get("differs", False)) else ""
        rows.append([row[c] for c in cols] + [mark])
    return render([str(c) for c in cols] + ["≠"], rows, max_width=24)
