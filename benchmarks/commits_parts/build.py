"""Run by ``commits.py`` in a subprocess with ``PYTHONPATH=<worktree>/src``: one commit's code.

    python build.py data DIR BATCH_ROWS      # the data, with the base commit's code
    python build.py packages DATA_DIR OUT    # the three packages, with each side's own code

``data`` writes the training rows, the customer table and the batch input as Parquet
(plus ``meta.json``), so both sides train on the very same rows whatever their
``modelport.datasets`` does. ``packages`` trains and packages, with the commit's own
``mp.package`` (its own manifest format), the three models the suites measure:

* ``loan-approval`` (online): ``loan_pipeline`` + a 100-tree random forest of depth 12
  on 20,000 ``loan_applications`` (as ``online.py``);
* ``loan-by-customer`` (score by id): ``AgeFromDate`` + one-hot + a 100-tree forest of
  depth 10, decisions, sourcing the customer's fields from ``customers`` by
  ``customer_id`` (as ``orchestrated.py``);
* ``loan-batch`` (batch): the loan example's pipeline, age from the date of birth, distance
  to the nearest branch, a 100-tree forest of depth 12, decisions (as ``batch.py``).

Only API both commits have: ``mp.package``, ``modelport.datasets``,
``modelport.features.AgeFromDate`` / ``HaversineNearest``, ``modelport.orchestrate``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

ONLINE, SCORE, BATCH = "loan-approval", "loan-by-customer", "loan-batch"
TRAIN_ROWS = 20_000
CUSTOMERS = 100_000  # the score suite's customer table (orchestrated.py's size)
SCORE_SOURCED = ["date_of_birth", "account_balance", "state"]
SCORE_REQUEST = ["loan_amount", "purpose"]
SCORE_RULES = "score>=0.7:accept, score>=0.4:refer, else:decline"
BATCH_FEATURES = [
    *["date_of_birth", "account_balance", "state", "home_lat", "home_lon"],
    *["loan_amount", "loan_term_months", "purpose"],
]
BATCH_RULES = "score>=0.6:accept, score>=0.35:refer, else:decline"
ROW_GROUP = 65_536


def data(out: Path, batch_rows: int) -> None:
    """The training rows and the customer table (once), and a batch input of ``batch_rows``."""
    from modelport.datasets import (
        BRANCHES,
        LOAN_FEATURES,
        customer_loan_applications,
        customers,
        loan_applications,
    )

    out.mkdir(parents=True, exist_ok=True)
    bank = customers(1_000, seed=42)
    if not (out / "meta.json").exists():
        online = loan_applications(TRAIN_ROWS, seed=42)[[*LOAN_FEATURES, "approved"]]
        online.to_parquet(out / "online-train.parquet", index=False)
        table = customers(CUSTOMERS, seed=4)
        table.to_parquet(out / "customers.parquet", index=False)
        score = customer_loan_applications(table, TRAIN_ROWS, seed=4)
        score.merge(table, on="customer_id").to_parquet(out / "score-train.parquet", index=False)
        train = customer_loan_applications(bank, TRAIN_ROWS, seed=42)
        train.merge(bank, on="customer_id").to_parquet(out / "batch-train.parquet", index=False)
        meta = {"online_features": list(LOAN_FEATURES), "branches": [list(b) for b in BRANCHES]}
        (out / "meta.json").write_text(json.dumps(meta))
    target = out / f"batch-input-{batch_rows}.parquet"
    if target.exists():
        return
    # Fresh applications of the customers the model was trained on, numbers kept inside the
    # training rows' range, so that every commit's contract accepts every row (the old
    # strict ranges and the new expected ones alike).
    train = pd.read_parquet(out / "batch-train.parquet")
    known = bank[bank["customer_id"].isin(train["customer_id"])]
    rows = customer_loan_applications(known, batch_rows, seed=1_000).merge(known, on="customer_id")
    rows = rows[BATCH_FEATURES]
    for name in rows.columns:
        if pd.api.types.is_numeric_dtype(rows[name]):
            rows[name] = rows[name].clip(train[name].min(), train[name].max())
    partial = target.with_suffix(".partial")
    rows.to_parquet(partial, index=False, row_group_size=ROW_GROUP)
    partial.rename(target)


def packages(source: Path, out: Path) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    import modelport as mp
    from modelport.datasets import loan_pipeline
    from modelport.features import AgeFromDate, HaversineNearest
    from modelport.orchestrate import FieldSource, OrchestrationSpec

    meta = json.loads((source / "meta.json").read_text())
    out.mkdir(parents=True, exist_ok=True)

    def forest(depth: int) -> RandomForestClassifier:
        return RandomForestClassifier(n_estimators=100, max_depth=depth, random_state=0)

    online = pd.read_parquet(source / "online-train.parquet")
    features = meta["online_features"]
    model = loan_pipeline(forest(12)).fit(online[features], online["approved"])
    mp.package(model, online, name=ONLINE, path=out / ONLINE, replace=True)

    score = pd.read_parquet(source / "score-train.parquet")
    raw = [*SCORE_SOURCED, *SCORE_REQUEST]
    prepare = ColumnTransformer(
        [
            ("num", "passthrough", ["age", "account_balance", "loan_amount"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["state", "purpose"]),
        ]
    )
    steps = [("age", AgeFromDate("date_of_birth", "age")), ("prepare", prepare)]
    model = Pipeline([*steps, ("model", forest(10))]).fit(score[raw], score["approved"])
    mp.package(
        model,
        score[raw],
        name=SCORE,
        path=out / SCORE,
        decisions=SCORE_RULES,
        orchestration=OrchestrationSpec(
            entity=["customer_id"],
            inputs={name: FieldSource(source="customers") for name in SCORE_SOURCED},
        ),
        replace=True,
    )

    batch = pd.read_parquet(source / "batch-train.parquet")
    branches = [tuple(b) for b in meta["branches"]]
    numbers = ["age", "account_balance", "loan_amount", "loan_term_months"]
    prepare = ColumnTransformer(
        [
            (
                "branch",
                HaversineNearest("home_lat", "home_lon", branches, name="branch_km"),
                ["home_lat", "home_lon"],
            ),
            ("num", "passthrough", numbers),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["state", "purpose"]),
        ]
    )
    steps = [("age", AgeFromDate("date_of_birth", "age")), ("prepare", prepare)]
    model = Pipeline([*steps, ("model", forest(12))])
    model.fit(batch[BATCH_FEATURES], batch["approved"])
    mp.package(
        model,
        batch[BATCH_FEATURES],
        name=BATCH,
        path=out / BATCH,
        decisions=BATCH_RULES,
        replace=True,
    )
    print(f"packaged {ONLINE}, {SCORE} and {BATCH} with {Path(mp.__file__).parent}", flush=True)


def main() -> None:
    command, *rest = sys.argv[1:]
    if command == "data":
        data(Path(rest[0]), int(rest[1]))
    elif command == "packages":
        packages(Path(rest[0]), Path(rest[1]))
    else:
        raise SystemExit(f"unknown command {command!r}: data or packages")


if __name__ == "__main__":
    main()
