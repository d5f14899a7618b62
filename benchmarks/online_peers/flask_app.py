"""The Flask + joblib service people write by hand, served by gunicorn (sync workers).

    MODEL_PATH=model.joblib gunicorn -w 2 -b 127.0.0.1:P flask_app:app

POST /predict takes one JSON record or a list of records, turns them into a pandas
DataFrame (JSON null as NaN) and answers the scikit-learn pipeline's ``predict_proba`` per record.
"""

from __future__ import annotations

import os

import joblib
import numpy as np
import pandas as pd
from flask import Flask, Response, jsonify, request

model = joblib.load(os.environ["MODEL_PATH"])
app = Flask(__name__)


@app.get("/health")
def health() -> Response:
    return jsonify(status="ok")


@app.post("/predict")
def predict() -> Response:
    payload = request.get_json()
    records = [payload] if isinstance(payload, dict) else payload
    frame = pd.DataFrame.from_records(records).fillna(np.nan)  # JSON null: missing
    probabilities = model.predict_proba(frame)
    labels = model.classes_[probabilities.argmax(axis=1)]
    return jsonify(
        predictions=[
            {"label": int(label), "probabilities": row.tolist()}
            for label, row in zip(labels, probabilities, strict=True)
        ]
    )
