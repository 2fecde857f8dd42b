"""The builder, offline: the wire graph it writes, and the checks it makes before anything is sent."""

import math
import unittest

import derivd
from derivd import dot, exp, sin
from derivd.tensors import numpy_available

from support import seed_graph


class WireGraph(unittest.TestCase):
    def test_the_seed_graph_has_readable_ids_and_the_documented_nodes(self):
        wire = seed_graph().to_json()
        self.assertEqual(wire["inputs"], [{"name": "d", "shape": [21]}, {"name": "xs", "shape": []}])
        self.assertEqual(wire["outputs"], ["r"])
        ops = [(n["id"], n["op"], n.get("args")) for n in wire["nodes"]]
        self.assertEqual(
            ops,
            [
                ("const1", "const", None),
                ("sub1", "sub", ["const1", "xs"]),
                ("square1", "square", ["sub1"]),
                ("mul1", "mul", [-1.5, "square1"]),
                ("exp1", "exp", ["mul1"]),
                ("dot1", "dot", ["d", "exp1"]),
                ("dot2", "dot", ["exp1", "exp1"]),
                ("div1", "div", ["dot1", "dot2"]),
                ("mul2", "mul", ["div1", "exp1"]),
                ("r", "sub", ["d", "mul2"]),
            ],
        )
        self.assertEqual(wire["nodes"][0]["value"], [float(i) for i in range(-10, 11)])

    def test_numbers_on_either_side_of_every_operator(self):
        g = derivd.graph()
        x = g.input("x", ())
        exprs = [x + 1, 1 + x, x - 2, 2 - x, 3 * x, x * 3, x / 4, 4 / x, x**3, 2**x, -x, abs(x), x**2]
        for i, e in enumerate(exprs):
            g.output("o%d" % i, e)
        got = [(n["op"], n["args"]) for n in g.to_json()["nodes"]]
        self.assertEqual(
            got,
            [
                ("add", ["x", 1.0]),
                ("add", [1.0, "x"]),
                ("sub", ["x", 2.0]),
                ("sub", [2.0, "x"]),
                ("mul", [3.0, "x"]),
                ("mul", ["x", 3.0]),
                ("div", ["x", 4.0]),
                ("div", [4.0, "x"]),
                ("pow", ["x", 3.0]),
                ("pow", [2.0, "x"]),
                ("neg", ["x"]),
                ("abs", ["x"]),
                ("square", ["x"]),
            ],
        )

    @unittest.skipUnless(numpy_available(), "numpy is not installed (or DERIVD_NO_NUMPY is set)")
    def test_a_numpy_array_on_the_left_makes_one_node_not_an_array_of_nodes(self):
        import numpy as np

        g = derivd.graph()
        x = g.input("x", ())
        y = np.linspace(-1.0, 1.0, 5) - x
        self.assertIsInstance(y, derivd.Expr)
        g.output("y", y)
        nodes = g.to_json()["nodes"]
        self.assertEqual([n["op"] for n in nodes], ["const", "sub"])
        self.assertEqual(nodes[0]["value"], [-1.0, -0.5, 0.0, 0.5, 1.0])

    def test_a_non_finite_literal_becomes_a_fill_node(self):
        g = derivd.graph()
        x = g.input("x", ())
        g.output("y", x * math.inf)
        nodes = g.to_json()["nodes"]
        self.assertEqual(nodes[0], {"id": "fill1", "op": "fill", "shape": [], "value": "Infinity"})
        self.assertEqual(nodes[1]["args"], ["x", "fill1"])

    def test_only_nodes_the_outputs_use_are_sent(self):
        g = derivd.graph()
        x = g.input("x", (3,))
        sin(x)  # never used
        g.output("y", exp(x))
        self.assertEqual([n["op"] for n in g.to_json()["nodes"]], ["exp"])

    def test_an_input_as_an_output_under_another_name_is_an_exact_copy(self):
        g = derivd.graph()
        x = g.input("x", (2,))
        g.output("x")
        g.output("y", x)
        wire = g.to_json()
        self.assertEqual(wire["outputs"], ["x", "y"])
        self.assertEqual(wire["nodes"], [{"id": "y", "op": "mul", "args": ["x", 1.0]}])

    def test_generated_ids_step_around_user_names(self):
        g = derivd.graph()
        x = g.input("exp1", ())
        g.output("y", exp(exp(x)))
        self.assertEqual([n["id"] for n in g.to_json()["nodes"]], ["exp2", "y"])

    def test_attributes_are_sent_as_checked(self):
        g = derivd.graph()
        x = g.input("x", (2, 3))
        g.output("s", derivd.sum(x, axes=(1,), keepdims=True))
        g.output("n", derivd.norm(x, ord="inf"))
        g.output("c", derivd.clip(x, min=0, max=math.inf))
        nodes = {n["id"]: n for n in g.to_json()["nodes"]}
        self.assertEqual(nodes["s"], {"id": "s", "op": "sum", "args": ["x"], "axes": [1], "keepdims": True})
        self.assertEqual(nodes["n"]["ord"], "inf")
        self.assertEqual((nodes["c"]["min"], nodes["c"]["max"]), (0.0, "Infinity"))

    def test_define_is_passed_through_and_can_be_used_by_nodes(self):
        g = derivd.graph()
        x = g.input("x", ())
        g.input("t", (21,))
        f = g.define("f", "exp(-1.5*(x - t)^2)")
        g.output("y", dot(f, f) + x)
        wire = g.to_json()
        self.assertEqual(wire["define"], {"f": "exp(-1.5*(x - t)^2)"})
        self.assertEqual(wire["nodes"][0]["args"], ["f", "f"])


class CheckedBeforeSending(unittest.TestCase):
    def setUp(self):
        self.g = derivd.graph()
        self.x = self.g.input("x", (3,))

    def test_an_attribute_typo_raises_a_value_error_naming_the_right_ones(self):
        with self.assertRaisesRegex(ValueError, 'sum: unknown attribute "axis": expected one of axes, keepdims'):
            derivd.sum(self.x, axis=[0])

    def test_an_unknown_op_raises(self):
        with self.assertRaisesRegex(ValueError, 'unknown op "expp"'):
            derivd.op("expp", self.x)

    def test_wrong_attribute_types_raise(self):
        cases = [
            (lambda: derivd.sum(self.x, axes=0), "sum: attribute axes: expected a list of integers"),
            (lambda: derivd.sum(self.x, keepdims=1), "sum: attribute keepdims: expected True or False"),
            (lambda: derivd.norm(self.x, ord=3), "norm: attribute ord: expected one of 1, 2, 'inf'"),
            (lambda: derivd.index(self.x, axis=0.5, indices=[0]), "index: attribute axis: expected an integer"),
            (lambda: self.g.op("range", stop=math.nan), "range: attribute stop: expected a finite number"),
        ]
        for make, message in cases:
            with self.assertRaisesRegex(ValueError, message.replace("(", r"\(")):
                make()

    def test_missing_required_attributes_and_wrong_arity_raise(self):
        with self.assertRaisesRegex(ValueError, "slice: missing attributes start, stop"):
            derivd.slice(self.x)
        with self.assertRaisesRegex(ValueError, "dot: expected 2 arguments, found 1"):
            dot(self.x)

    def test_names_are_checked(self):
        with self.assertRaisesRegex(ValueError, 'the name "x" is already used'):
            self.g.input("x", ())
        with self.assertRaisesRegex(ValueError, "no input, named node or definition"):
            self.g.output("nope")
        with self.assertRaisesRegex(ValueError, "no outputs"):
            derivd.graph().to_json()
        with self.assertRaisesRegex(ValueError, "another graph"):
            self.x + derivd.graph().input("z", ())

    def test_an_expression_has_no_truth_value(self):
        with self.assertRaises(TypeError):
            bool(self.x)


class OpList(unittest.TestCase):
    def test_every_elementwise_op_and_the_contractions_are_functions(self):
        for name in ["exp", "log", "sin", "cos", "tanh", "sqrt", "sigmoid", "erf", "dot", "matmul", "sum", "where", "einsum"]:
            self.assertTrue(callable(getattr(derivd, name)), name)
        self.assertNotIn("sum", derivd.__all__)  # import * keeps Python's sum


if __name__ == "__main__":
    unittest.main()
