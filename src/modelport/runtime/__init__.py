"""The one scoring path (:class:`Scorer`) and the runtimes it runs: ONNX (default) and native."""

from modelport.runtime.native import NativeRuntime
from modelport.runtime.onnx import MISSING_STRING, OnnxRuntime
from modelport.runtime.prediction import Prediction, Task
from modelport.runtime.scorer import (
    CONTRACT_MESSAGE,
    WARNINGS_ATTR,
    Decisions,
    InputSteps,
    ModelRuntime,
    Scored,
    Scorer,
)

__all__ = [
    "CONTRACT_MESSAGE",
    "MISSING_STRING",
    "WARNINGS_ATTR",
    "Decisions",
    "InputSteps",
    "ModelRuntime",
    "NativeRuntime",
    "OnnxRuntime",
    "Prediction",
    "Scored",
    "Scorer",
    "Task",
]
