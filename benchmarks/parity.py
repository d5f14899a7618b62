"""Parity of every supported estimator family, measured through ``modelport.package``.

    python benchmarks/parity.py [--rows 20000]   # writes benchmarks/results/parity.md

Each family is fitted on synthetic loan applications (missing numeric and categorical
values), packaged, and the worst absolute gap between scikit-learn and the packaged ONNX
graph is taken from the package's own parity proof (sample rows + generated edge rows:
missing values, unseen categories, values 10 spans beyond the observed range). A second
check scores held-out rows through ``modelport.load``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline

FAMILIES = {
    "logistic regression": (LogisticRegression(max_iter=2000), None),
    "linear regression": (None, LinearRegression()),
    "ridge": (None, Ridge(alpha=1.0)),
    "decision tree": (DecisionTreeClassifier(max_depth=12), DecisionTreeRegressor(max_depth=12)),
    "random forest": (
        RandomForestClassifier(n_estimators=100, random_state=0),
        RandomForestRegressor(n_estimators=100, max_depth=14, random_state=0),
    ),
    "extra trees": (
        ExtraTreesClassifier(n_estimators=100, random_state=0),
        ExtraTreesRegressor(n_estimators=100, max_depth=14, random_state=0),
    ),
    "gradient boosting": (
        GradientBoostingClassifier(n_estimators=100, random_state=0),
        GradientBoostingRegressor(n_estimators=100, random_state=0),
    ),
    "histogram gradient boosting": (
        HistGradientBoostingClassifier(max_iter=100, random_state=0),
        HistGradientBoostingRegressor(max_iter=100, random_state=0),
    ),
    "MLP": (
        MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=300, random_state=0),
        MLPRegressor(hidden_layer_sizes=(32, 16), max_iter=300, random_state=0),
    ),
}
HEADER = [
    "family",
    "task",
    "proof rows",
    "max abs diff (proof)",
    "label mismatches",
    "held-out rows",
    "max abs diff (held-out)",
    "labels identical",
    "passed",
    "build s",
]
TASKS = {
    "binary": ("approved", 0),
    "multiclass": ("risk_grade", 0),
    "regression": ("interest_rate", 1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results/parity.md")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    data = loan_applications(args.rows, seed=11)
    train, held_out = data.iloc[: args.rows * 4 // 5], data.iloc[args.rows * 4 // 5 :]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for family, estimators in FAMILIES.items():
            for task, (target, which) in TASKS.items():
                estimator = estimators[which]
                if estimator is None or (
                    task == "multiclass" and family in ("linear regression", "ridge")
                ):
                    continue
                model = loan_pipeline(estimator).fit(train[LOAN_FEATURES], train[target])
                started = time.perf_counter()
                built = mp.package(
                    model,
                    train,
                    name="parity",
                    path=Path(scratch) / f"{family}-{task}".replace(" ", "-"),
                )
                build_s = time.perf_counter() - started
                scored = mp.load(built.path).predict(held_out[LOAN_FEATURES])
                if task == "regression":
                    held_gap = float(
                        np.abs(scored["value"] - model.predict(held_out[LOAN_FEATURES])).max()
                    )
                    labels_ok = True
                else:
                    proba = model.predict_proba(held_out[LOAN_FEATURES])
                    ours = scored[[f"proba_{c}" for c in model.classes_]].to_numpy()
                    held_gap = float(np.abs(ours - proba).max())
                    labels_ok = bool(
                        (scored["label"].to_numpy() == model.predict(held_out[LOAN_FEATURES])).all()
                    )
                parity = built.parity
                rows.append(
                    (
                        family,
                        task,
                        parity.rows_checked,
                        next(iter(parity.max_abs_diff.values())),
                        parity.label_mismatches,
                        len(held_out),
                        held_gap,
                        labels_ok,
                        parity.passed,
                        build_s,
                    )
                )
                print(rows[-1])
    lines = [
        "# Parity: scikit-learn vs the packaged ONNX graph",
        "",
        f"`python benchmarks/parity.py --rows {args.rows}`: synthetic loan applications with",
        "missing values; proof rows = training sample + generated edge rows (missing values,",
        "unseen categories, values 10 spans outside the observed range); held-out rows scored by",
        "`modelport.load(...).predict`. Bar: 1e-6 absolute, identical labels.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    lines.extend(
        f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2e} | {r[4]} | {r[5]} | {r[6]:.2e} | "
        f"{'yes' if r[7] else 'NO'} | {'yes' if r[8] else 'NO'} | {r[9]:.1f} |"
        for r in rows
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
