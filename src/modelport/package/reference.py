"""Re-score a package's reference rows and compare with the predictions recorded at build."""

from __future__ import annotations

import numpy as np

from modelport.errors import ParityError
from modelport.package.load import Package, load_scorer
from modelport.runtime import Scorer

__all__ = ["check_reference"]


def check_reference(package: Package, scorer: Scorer | None = None) -> float:
    """Return the worst absolute difference; raise :class:`ParityError` beyond the tolerance.

    This is the evidence a running service can re-check at any time: the rows and the
    original model's answers travel inside the package.
    """
    scorer = scorer or load_scorer(package)
    reference = package.reference()
    expected = reference[[c for c in reference.columns if c.startswith("expected_")]]
    inputs = reference[scorer.contract.names]
    # the rows hold what the model takes (after any pre-steps), recorded at build, perhaps
    # under a contract tightened since: the domain is not what is re-checked here
    validated = scorer.validate(
        {name: inputs[name] for name in inputs.columns},
        n_rows=len(inputs),
        steps=False,
        check_domain=False,
    )
    if validated.errors:
        raise ParityError(
            f"reference rows of {package.name} no longer fit its contract", validated.errors
        )
    actual = scorer.score(validated).prediction.to_frame()
    worst = 0.0
    for column in actual.columns:
        want = expected[f"expected_{column}"].to_numpy()
        got = actual[column].to_numpy()
        if column == "label":
            mismatched = int(np.sum(want.astype(str) != got.astype(str)))
            if mismatched:
                raise ParityError(f"{package.name}: {mismatched} reference labels differ")
            continue
        worst = max(
            worst, float(np.max(np.abs(got.astype(float) - want.astype(float)), initial=0.0))
        )
    tolerance = package.manifest.parity.tolerance
    if worst > tolerance:
        raise ParityError(
            f"{package.name}: reference rows differ by {worst:.3g}, "
            f"beyond the tolerance {tolerance:g}"
        )
    return worst
