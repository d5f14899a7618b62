"""The BentoML service: the joblib pipeline behind a ``pandas.DataFrame`` API.

    MODEL_PATH=model.joblib BENTO_WORKERS=2 bentoml serve bentoml_service:LoanApproval

POST /predict with ``{"records": [record, ...]}`` (BentoML's records-oriented DataFrame
input) answers ``predict_proba`` per record as a JSON list of lists.
"""

import os
from typing import Annotated

import bentoml
import joblib
import numpy as np
import pandas as pd
from bentoml.validators import DataframeSchema


@bentoml.service(workers=int(os.environ.get("BENTO_WORKERS", "2")))
class LoanApproval:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["MODEL_PATH"])

    @bentoml.api
    def predict(
        self, records: Annotated[pd.DataFrame, DataframeSchema(orient="records")]
    ) -> list[list[float]]:
        return self.model.predict_proba(records.fillna(np.nan)).tolist()
