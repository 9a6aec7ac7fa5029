"""The one scikit-learn model every comparison trains, in whichever environment it runs.

A StandardScaler + LogisticRegression pipeline on the first 8 columns of scikit-learn's
breast-cancer data (shipped with scikit-learn, so nothing is downloaded). The source is
kept as text too, so a script can train the same model in another interpreter.
"""

from __future__ import annotations

import textwrap

TRAIN = textwrap.dedent("""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(X, y)
""")


def train():
    """``(model, X, y)``: the fitted pipeline and its 8-column frame and labels."""
    scope: dict = {}
    exec(TRAIN, scope)
    return scope["model"], scope["X"], scope["y"]
