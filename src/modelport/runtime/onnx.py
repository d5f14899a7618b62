"""The ONNX runtime: the package's graph, preprocessing inside, run by onnxruntime."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelport.contract import Contract
from modelport.errors import PackageError
from modelport.runtime.prediction import Prediction, Task

__all__ = ["MISSING_STRING", "OnnxRuntime"]

MISSING_STRING = ""  # how a missing string value is fed to an ONNX graph


class OnnxRuntime:
    """Runs the package's ONNX graph; preprocessing is inside the graph.

    ``lazy``: the onnxruntime session is created when first needed, not now (a batch job's
    main process, whose workers score, never needs one). ``arena``: onnxruntime's memory
    arena, which keeps the largest batch's buffers for the next; a batch worker scoring
    chunks of tens of thousands of rows is about 40 MB smaller without it, as fast.
    """

    def __init__(
        self,
        model: bytes | Path,
        contract: Contract,
        task: Task,
        classes: list[Any] | None,
        *,
        threads: int = 1,
        lazy: bool = False,
        arena: bool = True,
    ) -> None:
        self.contract, self.task, self.classes = contract, task, classes
        self._source = model if isinstance(model, bytes) else str(model)
        self._threads = threads
        self._arena = arena
        self._session: Any = None
        self._outputs = ["label", "probabilities"] if task.is_classification else ["value"]
        self._feed_kinds: list[tuple[str, bool]] = []
        if not lazy:
            self._open()

    @property
    def session(self) -> Any:
        """The onnxruntime ``InferenceSession``."""
        return self._session if self._session is not None else self._open()

    def _open(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = self._arena
        try:
            session = ort.InferenceSession(
                self._source, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise PackageError(f"the ONNX graph cannot be loaded: {exc}") from None
        strings = {f.name for f in self.contract.fields if not f.type.is_numeric}
        outputs = [o.name for o in session.get_outputs()]
        missing = [name for name in self._outputs if name not in outputs]
        if missing:
            raise PackageError(f"the ONNX graph lacks the outputs {missing}")
        self._feed_kinds = [(i.name, i.name in strings) for i in session.get_inputs()]
        self._session = session
        return session

    def feeds(self, columns: Mapping[str, np.ndarray], n_rows: int) -> dict[str, np.ndarray]:
        """The graph's inputs: validated columns as ``(n, 1)`` tensors, text missing as ``""``."""
        if self._session is None:
            self._open()
        feeds: dict[str, np.ndarray] = {}
        for name, is_text in self._feed_kinds:
            column = columns[name]
            if is_text:
                text = np.array(column, dtype=object)  # a copy: the caller's column stays as is
                missing = pd.isna(text)
                if missing.any():
                    text[missing] = MISSING_STRING
                feeds[name] = text.reshape(n_rows, 1)
            else:
                feeds[name] = np.ascontiguousarray(column, dtype=np.float64).reshape(n_rows, 1)
        return feeds

    def run(self, columns: Mapping[str, np.ndarray], n_rows: int) -> Prediction:
        if n_rows == 0:
            return Prediction.empty(self.task, self.classes)
        outputs = self.session.run(self._outputs, self.feeds(columns, n_rows))
        if self.task is Task.REGRESSION:
            values = np.asarray(outputs[0], dtype=np.float64).reshape(n_rows)
            return Prediction(self.task, self.classes, values=values)
        labels = np.asarray(outputs[0]).reshape(n_rows)
        probabilities = np.asarray(outputs[1], dtype=np.float64).reshape(n_rows, -1)
        return Prediction(self.task, self.classes, labels=labels, probabilities=probabilities)
