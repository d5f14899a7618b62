"""Train a loan-approval pipeline, package it with a parity proof, and register it.

    python examples/loan_approval/train.py                        # package into ./dist
    python examples/loan_approval/train.py --register production  # and register it

The data is synthetic (modelport.datasets.loan_applications): numeric and categorical
fields with missing values, the way real applications arrive.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import modelport as mp
from modelport.datasets import LOAN_FEATURES, loan_applications, loan_pipeline

NAME = "loan-approval"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows of synthetic data")
    parser.add_argument("--output", type=Path, help="package directory (default: a temp dir)")
    parser.add_argument("--register", metavar="ALIAS", help="register and point ALIAS at it")
    args = parser.parse_args()

    data = loan_applications(args.rows, seed=42)
    train, test = train_test_split(data, test_size=0.2, random_state=0)
    model = loan_pipeline(RandomForestClassifier(n_estimators=100, max_depth=12, random_state=0))
    model.fit(train[LOAN_FEATURES], train["approved"])
    accuracy = model.score(test[LOAN_FEATURES], test["approved"])
    print(f"trained {type(model.steps[-1][1]).__name__}: test accuracy {accuracy:.3f}")

    output = args.output or Path(tempfile.mkdtemp(prefix="modelport-example-")) / NAME
    built = mp.package(
        model,
        train,
        name=NAME,
        path=output,
        description="Approve or decline a loan application (synthetic example).",
        replace=True,
    )
    print(built.parity)
    print(f"package written to {built.path} (digest {built.digest[:12]})")

    if args.register:
        registry = mp.Registry.from_settings(mp.Settings())
        version = registry.register(built.path, alias=args.register)
        print(f"registered {version.name} version {version.version} as {args.register!r}")


if __name__ == "__main__":
    main()
