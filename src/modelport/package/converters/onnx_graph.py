"""A small ONNX graph builder shared by the converters.

Converters emit nodes one at a time; this keeps names unique, turns numpy arrays into
initializers and fixes the opsets in one place so every package targets the same runtime.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["IR_VERSION", "ML_OPSET", "ONNX_OPSET", "GraphBuilder"]

# ai.onnx 21 and ai.onnx.ml 5 ship together (onnx 1.16, IR 10). ai.onnx.ml 5 brings the
# TreeEnsemble operator, whose thresholds, leaves and output can be float64; the older
# TreeEnsembleRegressor/Classifier always output float32, which cannot hold regression
# targets to 1e-6. onnxruntime implements both opsets since 1.20.
ONNX_OPSET = 21
ML_OPSET = 5
IR_VERSION = 10
ML_DOMAIN = "ai.onnx.ml"


class GraphBuilder:
    """Accumulates nodes and initializers; every helper returns the output tensor's name."""

    def __init__(self) -> None:
        self._nodes: list[onnx.NodeProto] = []
        self._initializers: list[onnx.TensorProto] = []
        self._inputs: list[onnx.ValueInfoProto] = []
        self._outputs: list[onnx.ValueInfoProto] = []
        self._used: set[str] = set()
        self._constants: dict[tuple[str, bytes, tuple[int, ...]], str] = {}

    def fresh(self, hint: str) -> str:
        """A tensor name not used yet, derived from ``hint``."""
        base = "".join(c if c.isalnum() or c in "_." else "_" for c in hint) or "t"
        name, counter = base, 1
        while name in self._used:
            counter += 1
            name = f"{base}_{counter}"
        self._used.add(name)
        return name

    def add_input(self, name: str, elem_type: int, shape: list[int | str | None]) -> str:
        if name in self._used:
            raise ValueError(f"duplicate graph input {name!r}")
        self._used.add(name)
        self._inputs.append(helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def add_output(self, source: str, name: str, elem_type: int, shape: list[Any]) -> None:
        """Expose ``source`` under the public ``name`` (through Identity when they differ)."""
        if source != name:
            self._used.add(name)
            self._nodes.append(helper.make_node("Identity", [source], [name]))
        self._outputs.append(helper.make_tensor_value_info(name, elem_type, shape))

    def const(self, value: Any, hint: str = "c") -> str:
        """An initializer holding ``value``; identical constants are shared."""
        array = np.asarray(value)
        if array.dtype.kind in "OUS":
            array = array.astype(object)
            key_bytes = repr(array.tolist()).encode()
        else:
            key_bytes = array.tobytes()
        key = (str(array.dtype), key_bytes, array.shape)
        if key in self._constants:
            return self._constants[key]
        name = self.fresh(hint)
        if array.dtype == object:
            texts: list[Any] = [str(v).encode() for v in array.flat]
            tensor = helper.make_tensor(name, TensorProto.STRING, array.shape, texts)
        else:
            tensor = numpy_helper.from_array(array, name)
        self._initializers.append(tensor)
        self._constants[key] = name
        return name

    def op(
        self,
        op_type: str,
        inputs: list[str],
        hint: str | None = None,
        domain: str = "",
        **attrs: Any,
    ) -> str:
        """Append one single-output node and return its output name."""
        output = self.fresh(hint or op_type.lower())
        node = helper.make_node(
            op_type, inputs, [output], name=self.fresh(f"n_{output}"), domain=domain, **attrs
        )
        self._nodes.append(node)
        return output

    def build(self, graph_name: str, doc: str = "") -> onnx.ModelProto:
        graph = helper.make_graph(
            self._nodes, graph_name, self._inputs, self._outputs, initializer=self._initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[
                helper.make_opsetid("", ONNX_OPSET),
                helper.make_opsetid(ML_DOMAIN, ML_OPSET),
            ],
            ir_version=IR_VERSION,
            producer_name="modelport",
            doc_string=doc,
        )
        onnx.checker.check_model(model, full_check=True)
        return model
