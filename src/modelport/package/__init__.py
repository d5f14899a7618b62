"""Model packages: build (convert + parity proof), verify on load, archive for transport.

Building (the converters, the parity proof) needs scikit-learn; opening and loading a
package does not, so the build side is imported when first used.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from modelport.package.archive import pack, unpack
from modelport.package.load import Package, load_scorer, open_package, verify_directory
from modelport.package.manifest import Manifest, ParitySummary, Runtime, check_name

if TYPE_CHECKING:
    from modelport.package.build import BuiltPackage, package
    from modelport.package.parity import ParityReport

_BUILD = {"BuiltPackage": "build", "package": "build", "ParityReport": "parity"}


def __getattr__(name: str) -> Any:
    if name in _BUILD:
        value = getattr(import_module(f"modelport.package.{_BUILD[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BuiltPackage",
    "Manifest",
    "Package",
    "ParityReport",
    "ParitySummary",
    "Runtime",
    "check_name",
    "load_scorer",
    "open_package",
    "pack",
    "package",
    "unpack",
    "verify_directory",
]
