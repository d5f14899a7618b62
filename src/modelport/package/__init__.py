"""Model packages: build (convert + parity proof), verify on load, archive for transport."""

from modelport.package.archive import pack, unpack
from modelport.package.build import BuiltPackage, package
from modelport.package.load import Package, load_scorer, open_package, verify_directory
from modelport.package.manifest import Manifest, ParitySummary, Runtime, check_name
from modelport.package.parity import ParityReport

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
