"""Save the fitted pipeline (a joblib file) in MLflow's format; runs inside MLflow's venv.

    <mlflow venv>/bin/python mlflow_export.py model.joblib sample.json out_dir

``mlflow.sklearn.save_model`` with a signature inferred from sample records and the pyfunc
answering ``predict_proba`` (cloudpickle format), so ``mlflow models serve`` returns probabilities.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import joblib
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.models import infer_signature


def main() -> None:
    model_file, sample_file, out_dir = sys.argv[1:4]
    model = joblib.load(model_file)
    sample = pd.DataFrame.from_records(json.loads(Path(sample_file).read_text())).fillna(np.nan)
    signature = infer_signature(sample, model.predict_proba(sample))
    mlflow.sklearn.save_model(
        model,
        out_dir,
        signature=signature,
        pyfunc_predict_fn="predict_proba",
        # MLflow 3's default (skops) refuses to load the forest's tree type at serve time
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )


if __name__ == "__main__":
    main()
