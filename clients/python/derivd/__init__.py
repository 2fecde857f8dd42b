"""derivd: derivatives on demand, from Python.

    import derivd
    from derivd import exp, dot

    g = derivd.graph()
    d = g.input("d", (21,))
    xs = g.input("xs", ())
    t = [i - 10.0 for i in range(21)]
    f = exp(-1.5 * (t - xs) ** 2)
    g.output("r", d - dot(d, f) / dot(f, f) * f)

    res = derivd.Derivd("http://127.0.0.1:8080").jacobian(g, args={"d": d_values, "xs": 0.1}, constant=["d"])
    res.jacobian["r"]["xs"]
"""

from ._ops import OPS
from .client import Derivd, Result
from .errors import DerivdConnectionError, DerivdProblem
from .graph import OP_FUNCTIONS, Expr, Graph, graph, op
from .tensors import numpy_available

__version__ = "0.1.0"

# One function per op taking arguments: exp, log, sin, ..., dot, matmul, sum, where, ...
globals().update(OP_FUNCTIONS)

# `from derivd import *` leaves Python's own sum, max, min, abs, round and pow alone.
_BUILTINS = {"sum", "max", "min", "abs", "round", "pow"}
__all__ = [
    "OPS",
    "Derivd",
    "DerivdConnectionError",
    "DerivdProblem",
    "Expr",
    "Graph",
    "Result",
    "graph",
    "numpy_available",
    "op",
] + sorted(n for n in OP_FUNCTIONS if n not in _BUILTINS)
