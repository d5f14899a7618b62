"""The input contract: fields inferred from a sample, one validator for every entry point."""

from modelport.contract.expectations import FieldWarning
from modelport.contract.fields import (
    Contract,
    ExtraFieldPolicy,
    FieldSpec,
    FieldType,
    UnknownCategoryPolicy,
)
from modelport.contract.infer import infer_contract
from modelport.contract.validate import Validated, Validator

__all__ = [
    "Contract",
    "ExtraFieldPolicy",
    "FieldSpec",
    "FieldWarning",
    "FieldType",
    "UnknownCategoryPolicy",
    "Validated",
    "Validator",
    "infer_contract",
]
