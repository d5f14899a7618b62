"""Model packages: build (convert + parity proof), verify on load, archive for transport.

Opening, verifying and loading a package needs only the core install. Building needs
the ``build`` extra (scikit-learn, ONNX, skops): :func:`package` says so when it is
missing, and imports them only when it runs, so importing this package never does.
"""

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
