"""Runtimes that score validated columns: ONNX (default) and native (skops)."""

from modelport.runtime.prediction import Prediction, Task
from modelport.runtime.scorer import MISSING_STRING, NativeScorer, OnnxScorer, Scorer

__all__ = ["MISSING_STRING", "NativeScorer", "OnnxScorer", "Prediction", "Scorer", "Task"]
