"""The prediction log: every scored record, appended off the hot path to a durable sink.

    from modelport.predlog import PredictionLog, PredictionRecord, SqlSink

    log = PredictionLog(SqlSink("postgresql://.../monitoring"), sample_rate=0.5)
    log.append([PredictionRecord(model="loan-approval", version=3, request_id=rid,
                                 at=PredictionRecord.now(), inputs=row, outputs=out)])
    ...
    log.close()  # at shutdown: writes everything appended

:class:`PredictionLog` buffers and writes in a background thread (``log``); sinks are a
SQL table (``sql``, the default) or Parquet files (``parquet``); :class:`Sampler` and
:class:`Redactor` decide what is kept; :func:`read_predictions` reads either sink back.
See ``docs/prediction-log.md``.
"""

from modelport.predlog.log import PredictionLog
from modelport.predlog.parquet import PREDICTION_SCHEMA, ParquetSink
from modelport.predlog.reader import read_predictions
from modelport.predlog.record import PredictionRecord
from modelport.predlog.redaction import Redactor
from modelport.predlog.sampling import Sampler
from modelport.predlog.settings import PredictionLogSettings, open_prediction_log
from modelport.predlog.sink import Sink
from modelport.predlog.sql import DEFAULT_TABLE, SqlSink, create_log_engine, prediction_table

__all__ = [
    "DEFAULT_TABLE",
    "PREDICTION_SCHEMA",
    "ParquetSink",
    "PredictionLog",
    "PredictionLogSettings",
    "PredictionRecord",
    "Redactor",
    "Sampler",
    "Sink",
    "SqlSink",
    "create_log_engine",
    "open_prediction_log",
    "prediction_table",
    "read_predictions",
]
