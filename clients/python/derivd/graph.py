"""A graph builder with operator overloading.

    g = derivd.graph()
    d = g.input("d", (21,))
    xs = g.input("xs", ())
    f = exp(-1.5 * (t - xs) ** 2)          # t: a list or numpy array, sent as a const node
    g.output("r", d - dot(d, f) / dot(f, f) * f)

Expressions record nodes; nothing is computed here. `g.to_json()` is the wire graph,
with readable ids (the op and a count per op: `sub1`, `dot2`; `g.name()` and
`g.output()` choose others). Op names and attributes are checked against the
server's op list (_ops.py, generated from its registry), so a typo raises a
ValueError here instead of a 400 later.
"""

import numbers

from . import tensors
from ._ops import OPS


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_attr(op, name, value):
    """The attribute as sent, or ValueError saying what `op` expected."""
    spec = OPS[op]["attrs"].get(name)
    if spec is None:
        known = ", ".join(OPS[op]["attrs"]) or "none"
        raise ValueError('%s: unknown attribute "%s": expected one of %s' % (op, name, known))
    kind = spec["type"]
    where = "%s: attribute %s" % (op, name)
    if kind == "tensor":
        tensors.shape_of(value, where)
        return tensors.to_wire(value, where, base64_min=float("inf"))
    if kind == "float":
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            return value
        if not _is_number(value):
            raise ValueError("%s: expected a number, found %r" % (where, value))
        return tensors.wire_float(value)
    if kind == "number":
        if not _is_number(value) or tensors.wire_float(value) != value:
            raise ValueError("%s: expected a finite number, found %r" % (where, value))
        return float(value) if not isinstance(value, numbers.Integral) else int(value)
    if kind == "int":
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError("%s: expected an integer, found %r" % (where, value))
        return int(value)
    if kind == "ints":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
            raise ValueError("%s: expected a list of integers, found %r" % (where, value))
        return [int(v) for v in value]
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("%s: expected True or False, found %r" % (where, value))
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError("%s: expected a string, found %r" % (where, value))
        return value
    allowed = kind["oneOf"]
    if value not in allowed or isinstance(value, bool):
        raise ValueError("%s: expected one of %s, found %r" % (where, ", ".join(repr(a) for a in allowed), value))
    return value


def check_node(op, nargs, attrs):
    """ValueError unless `op` is a wire op taking `nargs` arguments and these attributes; the attributes as sent."""
    if op not in OPS:
        raise ValueError('unknown op "%s": expected one of %s' % (op, ", ".join(OPS)))
    arity = OPS[op]["arity"]
    if arity == "variadic" and nargs < 1:
        raise ValueError("%s: expected one or more arguments, found none" % op)
    if arity != "variadic" and nargs != arity:
        raise ValueError("%s: expected %d argument%s, found %d" % (op, arity, "" if arity == 1 else "s", nargs))
    out = {name: _check_attr(op, name, value) for name, value in attrs.items()}
    missing = [n for n, spec in OPS[op]["attrs"].items() if spec["required"] and n not in attrs]
    if missing:
        raise ValueError("%s: missing attribute%s %s" % (op, "" if len(missing) == 1 else "s", ", ".join(missing)))
    return out


class Expr:
    """A value of a graph: an input, a node, or a name defined by a formula."""

    # numpy arrays on the left of an operator defer to Expr's reflected methods
    # (`t - x` with t an ndarray makes one sub node, not an array of nodes).
    __array_ufunc__ = None

    def __init__(self, graph, kind, op=None, args=(), attrs=None, name=None):
        self.graph = graph
        self.kind = kind  # "input", "node" or "ref"
        self.op = op
        self.args = tuple(args)
        self.attrs = attrs or {}
        self.name = name

    def __repr__(self):
        return "<derivd.Expr %s>" % (self.name or self.op)

    def __bool__(self):
        raise TypeError("a derivd expression has no truth value: it is computed by the service, not here")

    def __add__(self, o):
        return _apply("add", self, o)

    def __radd__(self, o):
        return _apply("add", o, self)

    def __sub__(self, o):
        return _apply("sub", self, o)

    def __rsub__(self, o):
        return _apply("sub", o, self)

    def __mul__(self, o):
        return _apply("mul", self, o)

    def __rmul__(self, o):
        return _apply("mul", o, self)

    def __truediv__(self, o):
        return _apply("div", self, o)

    def __rtruediv__(self, o):
        return _apply("div", o, self)

    def __pow__(self, o):
        # x ** 2 as square, which is x * x exactly (pow need not be) and what the seed graph uses.
        if _is_number(o) and o == 2:
            return _apply("square", self)
        return _apply("pow", self, o)

    def __rpow__(self, o):
        return _apply("pow", o, self)

    def __neg__(self):
        return _apply("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _apply("abs", self)

    def __matmul__(self, o):
        return _apply("matmul", self, o)

    def __rmatmul__(self, o):
        return _apply("matmul", o, self)


def _apply(op, *args, **attrs):
    graph = next((a.graph for a in args if isinstance(a, Expr)), None)
    if graph is None:
        raise ValueError("%s: at least one argument must be an expression of a graph (use g.op() for ops without one)" % op)
    return graph.op(op, *args, **attrs)


class Graph:
    """Inputs, nodes and outputs, turned into the wire graph by to_json()."""

    def __init__(self):
        self._inputs = []  # Expr, in order
        self._nodes = []  # Expr, in creation order
        self._outputs = []  # names
        self._names = {}  # name -> Expr (inputs, named nodes, definitions)
        self._define = {}
        self._functions = {}

    def _claim(self, name, what):
        if not isinstance(name, str) or name == "":
            raise ValueError("%s: a name must be a non-empty string, found %r" % (what, name))
        if name in self._names:
            raise ValueError('%s: the name "%s" is already used' % (what, name))

    def input(self, name, shape=()):
        """A graph input of this shape (`()` for a scalar)."""
        self._claim(name, "input")
        shape = list(shape)
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in shape):
            raise ValueError('input "%s": a shape is a list of non-negative integers, found %r' % (name, shape))
        x = Expr(self, "input", name=name)
        x.shape = shape
        self._inputs.append(x)
        self._names[name] = x
        return x

    def const(self, value):
        """A constant tensor (a number, nested lists or a numpy array) as a const node."""
        return self.op("const", value=value)

    def op(self, name, *args, **attrs):
        """A node of any wire op: `g.op("sum", x, axes=[0])`, `g.op("range", stop=5)`."""
        sent = check_node(name, len(args), attrs)
        wired = []
        for i, a in enumerate(args):
            if isinstance(a, Expr):
                if a.graph is not self:
                    raise ValueError("%s: argument %d belongs to another graph" % (name, i))
                wired.append(a)
            elif _is_number(a):
                x = tensors.wire_float(a)
                # A literal in args must be a JSON number; a non-finite one becomes a fill node.
                wired.append(float(a) if isinstance(x, float) else self.op("fill", shape=[], value=x))
            else:
                wired.append(self.const(a))
        node = Expr(self, "node", op=name, args=wired, attrs=sent)
        self._nodes.append(node)
        return node

    def name(self, name, expr):
        """Gives the node `expr` the id `name` (so formulas and outputs can name it); returns expr."""
        if not isinstance(expr, Expr) or expr.graph is not self or expr.kind != "node":
            raise ValueError('name "%s": expected a node of this graph' % name)
        if expr.name is not None:
            raise ValueError('name "%s": this node is already named "%s"' % (name, expr.name))
        self._claim(name, "name")
        expr.name = name
        self._names[name] = expr
        return expr

    def define(self, name, formula):
        """A formula, sent as the graph's `define` entry `name`; returns an expression naming it."""
        if not isinstance(formula, str):
            raise ValueError('define "%s": expected a formula string, found %r' % (name, formula))
        self._claim(name, "define")
        self._define[name] = formula
        ref = Expr(self, "ref", name=name)
        self._names[name] = ref
        return ref

    def function(self, name, wire):
        """A sub-graph for call and scan nodes, as its wire object (a dict, or another Graph)."""
        self._functions[name] = wire.to_json() if isinstance(wire, Graph) else wire

    def output(self, name, expr=None):
        """Makes `expr` an output called `name`; with no expr, `name` is an input, a named node or a definition."""
        if expr is None:
            if name not in self._names:
                raise ValueError('output "%s": no input, named node or definition has this name' % name)
        elif not isinstance(expr, Expr):
            self.name(name, self.const(expr))
        elif expr.graph is not self:
            raise ValueError('output "%s": the expression belongs to another graph' % name)
        elif expr.name == name:
            pass
        elif expr.kind == "node" and expr.name is None:
            self.name(name, expr)
        else:
            # Already named otherwise (an input, say): an exact copy under the new name.
            self.name(name, self.op("mul", expr, 1.0))
        if name in self._outputs:
            raise ValueError('output "%s": already an output' % name)
        self._outputs.append(name)
        return self._names[name]

    def _reachable(self):
        """Nodes the outputs or the definitions may use, in creation order (which is dependency order)."""
        keep = set()
        stack = [self._names[n] for n in self._outputs] + [e for e in self._nodes if e.name is not None]
        while stack:
            e = stack.pop()
            if e.kind != "node" or id(e) in keep:
                continue
            keep.add(id(e))
            stack.extend(a for a in e.args if isinstance(a, Expr))
        return [e for e in self._nodes if id(e) in keep]

    def to_json(self):
        """The wire graph: {inputs, nodes, outputs} (and define, functions when used)."""
        if not self._outputs:
            raise ValueError("the graph has no outputs: add one with g.output(name, expr)")
        nodes = self._reachable()
        taken = set(self._names)
        ids = {}
        counters = {}  # per op: exp1, exp2, dot1, ...
        for e in nodes:
            if e.name is not None:
                ids[id(e)] = e.name
                continue
            n = counters.get(e.op, 0) + 1
            while "%s%d" % (e.op, n) in taken:
                n += 1
            counters[e.op] = n
            ids[id(e)] = "%s%d" % (e.op, n)
        ref = lambda a: ids.get(id(a), a.name) if isinstance(a, Expr) else a  # noqa: E731
        wire_nodes = []
        for e in nodes:
            node = {"id": ids[id(e)], "op": e.op}
            if e.args:
                node["args"] = [ref(a) for a in e.args]
            node.update(e.attrs)
            wire_nodes.append(node)
        out = {"inputs": [{"name": x.name, "shape": list(x.shape)} for x in self._inputs], "nodes": wire_nodes}
        if self._define:
            out["define"] = dict(self._define)
        out["outputs"] = list(self._outputs)
        if self._functions:
            out["functions"] = dict(self._functions)
        return out


def graph():
    """A new, empty graph builder."""
    return Graph()


def op(name, *args, **attrs):
    """A node of any wire op on expressions: `op("sum", x, axes=[0])`, `op("clip", x, min=0)`."""
    return _apply(name, *args, **attrs)


def _op_function(name):
    def f(*args, **attrs):
        return _apply(name, *args, **attrs)

    f.__name__ = name
    f.__qualname__ = name
    arity = OPS[name]["arity"]
    attrs = ", ".join(OPS[name]["attrs"])
    f.__doc__ = "The %s op (%s argument%s%s)." % (
        name,
        arity if arity != "variadic" else "one or more",
        "" if arity == 1 else "s",
        "; attributes: " + attrs if attrs else "",
    )
    return f


# One function per op with arguments (exp, dot, sum, matmul, ...); leaf ops (const,
# range, fill, eye) need a graph: g.const(...), g.op("range", stop=5).
OP_FUNCTIONS = {name: _op_function(name) for name, spec in OPS.items() if spec["arity"] != 0}
