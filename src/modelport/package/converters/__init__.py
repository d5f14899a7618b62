"""Converters from training frameworks to ONNX graphs, one module per framework."""

from modelport.package.converters.sklearn import (
    MISSING_STRING,
    ConvertedModel,
    convert_sklearn,
    supported_estimators,
)

__all__ = ["MISSING_STRING", "ConvertedModel", "convert_sklearn", "supported_estimators"]
