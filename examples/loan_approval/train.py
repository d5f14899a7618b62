"""Train the loan-approval model, package it with a parity proof, and register it.

    python examples/loan_approval/train.py                        # package into a temp dir
    python examples/loan_approval/train.py --register production  # and register it

The bank's customer table (modelport.datasets.customers: ids 1 to 1,000 with date of
birth, state, account balance and home coordinates) is written to a SQLite database with
a sources file binding it, so the server can score by customer id:

    MODELPORT_SOURCES_FILE=<printed path> modelport serve
    curl -s localhost:8000/v1/score -d '{"model-id": "loan-approval", "customer-id": 17, ...}'

The model derives the applicant's age from the date of birth (a declared pre-step, run at
scoring time) and the distance from home to the nearest branch (inside the ONNX graph),
and answers with an accept / refer / decline decision.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sqlalchemy import create_engine

import modelport as mp
from modelport.datasets import BRANCHES, customer_loan_applications, customers
from modelport.features import AgeFromDate, HaversineNearest
from modelport.orchestrate import FieldSource, OrchestrationSpec

NAME = "loan-approval"
FROM_CUSTOMER = ["date_of_birth", "account_balance", "state", "home_lat", "home_lon"]
FROM_APPLICATION = ["loan_amount", "loan_term_months", "purpose"]
DECISIONS = "score>=0.6:accept, score>=0.35:refer, else:decline"


def pipeline() -> Pipeline:
    """Age from the date of birth, distance to the nearest branch, then a random forest."""
    prepare = ColumnTransformer(
        [
            (
                "branch",
                HaversineNearest("home_lat", "home_lon", BRANCHES, name="branch_km"),
                ["home_lat", "home_lon"],
            ),
            ("num", "passthrough", ["age", "account_balance", "loan_amount", "loan_term_months"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["state", "purpose"]),
        ]
    )
    forest = RandomForestClassifier(n_estimators=100, max_depth=12, random_state=0)
    return Pipeline(
        [("age", AgeFromDate("date_of_birth", "age")), ("prepare", prepare), ("model", forest)]
    )


def write_crm(table: object, directory: Path) -> Path:
    """The customer table in SQLite, and the sources file that binds it; the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "crm.db"
    database.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{database}")
    table.to_sql("customers", engine, index=False)  # type: ignore[attr-defined]
    engine.dispose()
    sources = directory / "sources.yaml"
    binding = {"url": f"sqlite:///{database}", "table": "customers", "keys": ["customer_id"]}
    sources.write_text(yaml.safe_dump({"customers": binding}))
    return sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="loan applications to learn")
    parser.add_argument("--output", type=Path, help="package directory (default: a temp dir)")
    parser.add_argument("--register", metavar="ALIAS", help="register and point ALIAS at it")
    parser.add_argument("--crm", type=Path, help="where the customer database goes")
    args = parser.parse_args()

    table = customers(1_000, seed=42)
    data = customer_loan_applications(table, args.rows, seed=42).merge(table, on="customer_id")
    features = FROM_CUSTOMER + FROM_APPLICATION
    train, test = train_test_split(data, test_size=0.2, random_state=0)
    model = pipeline().fit(train[features], train["approved"])
    accuracy = model.score(test[features], test["approved"])
    print(f"trained {type(model.steps[-1][1]).__name__}: test accuracy {accuracy:.3f}")

    output = args.output or Path(tempfile.mkdtemp(prefix="modelport-example-")) / NAME
    built = mp.package(
        model,
        train[features],
        name=NAME,
        path=output,
        description="Approve, refer or decline a customer's loan application (synthetic).",
        decisions=DECISIONS,
        orchestration=OrchestrationSpec(
            entity=["customer_id"],
            inputs={name: FieldSource(source="customers") for name in FROM_CUSTOMER},
        ),
        replace=True,
    )
    print(built.parity)
    print(f"package written to {built.path} (digest {built.digest[:12]})")

    settings = mp.Settings()
    sources = write_crm(table, args.crm or settings.home / "demo-crm")
    print(f"customer database and sources file: {sources}")
    if args.register:
        registry = mp.Registry.from_settings(settings)
        version = registry.register(built.path, alias=args.register)
        print(f"registered {version.name} version {version.version} as {args.register!r}")


if __name__ == "__main__":
    main()
