"""A small ONNX graph builder: unique names, numpy constants, one output per node."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Opset 21 and ai.onnx.ml 5 are the first that hold `TreeEnsemble`, the one tree operator that
# takes float64 splits and any number of outputs; everything else used here is older.
OPSETS: dict[str, int] = {"": 21, "ai.onnx.ml": 5}
ML_DOMAIN = "ai.onnx.ml"
# The batch graphs of scikit-learn models sum float64 leaf rows inside `TreeEnsembleRegressor`,
# which ai.onnx.ml 5 no longer holds (a model imports one version of a domain).
ML3_OPSETS: dict[str, int] = {"": 21, "ai.onnx.ml": 3}


class GraphBuilder:
    """Collects nodes and constants; `op` returns the name of the node's output."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._used: set[str] = set()

    def name(self, hint: str) -> str:
        candidate, n = hint, 1
        while candidate in self._used:
            n += 1
            candidate = f"{hint}_{n}"
        self._used.add(candidate)
        return candidate

    def constant(self, hint: str, value: np.ndarray | list[str]) -> str:
        array = np.array(value, dtype=object) if isinstance(value, list) else value
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(
        self,
        op_type: str,
        inputs: list[str],
        *,
        output: str | None = None,
        domain: str = "",
        **attributes: Any,
    ) -> str:
        result = self.name(op_type.lower()) if output is None else output
        if output is not None:
            self._used.add(output)
        node = helper.make_node(
            op_type,
            inputs,
            [result],
            name=self.name(f"{op_type}_node"),
            domain=domain,
            **attributes,
        )
        self.nodes.append(node)
        return result

    def model(
        self,
        *,
        inputs: list[onnx.ValueInfoProto],
        outputs: list[onnx.ValueInfoProto],
        name: str,
        doc: str,
        metadata: dict[str, str],
        opsets: dict[str, int] = OPSETS,
    ) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid(domain, v) for domain, v in opsets.items()],
            producer_name="ids-inference",
            doc_string=doc,
        )
        # IR 10 is what opset 21 needs; newer IR versions would lock out older runtimes for nothing.
        model.ir_version = 10
        helper.set_model_props(model, metadata)
        onnx.checker.check_model(model, full_check=True)
        return model


def tensor(name: str, elem_type: int, shape: list[int | str | None]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


DOUBLE, FLOAT = TensorProto.DOUBLE, TensorProto.FLOAT
INT32, INT64 = TensorProto.INT32, TensorProto.INT64
STRING, BOOL = TensorProto.STRING, TensorProto.BOOL
