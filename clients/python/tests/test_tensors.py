"""Tensors to and from the wire, offline: nested lists, base64 and numpy."""

import math
import struct
import unittest

from derivd import tensors

BITS = lambda x: struct.pack("<d", x)  # noqa: E731


class Base64(unittest.TestCase):
    def test_the_documented_example(self):
        # docs/graph-format.md: [1, 2, 3] is "AAAAAAAA8D8AAAAAAAAAQAAAAAAAAAhA"
        self.assertEqual(tensors.encode_base64([1, 2, 3]), {"dtype": "float64", "shape": [3], "data": "AAAAAAAA8D8AAAAAAAAAQAAAAAAAAAhA"})

    def test_every_double_survives_a_round_trip_bit_for_bit(self):
        specials = [-0.0, math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308, 0.1]
        values = [[specials[(i * 3 + j) % len(specials)] + (0 if j % 2 else i) for j in range(4)] for i in range(300)]
        wire = tensors.to_wire(values)
        self.assertEqual(wire["shape"], [300, 4])  # 1200 elements: base64
        back = tensors.from_wire(wire, numpy=False)
        self.assertEqual([[BITS(v) for v in row] for row in back], [[BITS(v) for v in row] for row in values])

    def test_small_tensors_stay_json_with_wire_strings_for_non_finite_floats(self):
        self.assertEqual(tensors.to_wire([1, math.nan, -math.inf]), [1.0, "NaN", "-Infinity"])
        self.assertEqual(tensors.to_wire(2), 2.0)
        self.assertEqual(tensors.from_wire([1, "NaN", "Infinity"], numpy=False)[2], math.inf)

    def test_scalars_and_empty_tensors(self):
        self.assertEqual(tensors.from_wire(tensors.encode_base64(2.5), numpy=False), 2.5)
        self.assertEqual(tensors.encode_base64([])["data"], "")
        self.assertEqual(tensors.from_wire({"dtype": "float64", "shape": [2, 0], "data": ""}, numpy=False), [[], []])

    def test_ragged_lists_are_refused_with_their_path(self):
        with self.assertRaisesRegex(ValueError, r"args\[1\]: expected shape \[2\] like args\[0\], found \[3\]"):
            tensors.to_wire([[1, 2], [1, 2, 3]], "args")


@unittest.skipUnless(tensors.numpy_available(), "numpy is not installed (or DERIVD_NO_NUMPY is set)")
class Numpy(unittest.TestCase):
    def test_arrays_round_trip_through_base64_with_their_shape(self):
        import numpy as np

        a = np.arange(2048, dtype=float).reshape(32, 64) - 0.5
        wire = tensors.to_wire(a)
        self.assertEqual(wire["shape"], [32, 64])
        back = tensors.from_wire(wire, numpy=True)
        self.assertIsInstance(back, np.ndarray)
        self.assertTrue(np.array_equal(back, a))

    def test_small_arrays_go_as_json_and_come_back_as_arrays(self):
        import numpy as np

        self.assertEqual(tensors.to_wire(np.array([1.0, np.nan])), [1.0, "NaN"])
        back = tensors.from_wire([[1, 2], [3, 4]], numpy=True)
        self.assertEqual(back.shape, (2, 2))


class WithoutNumpy(unittest.TestCase):
    def test_asking_for_numpy_without_it_says_so(self):
        if tensors.numpy_available():
            self.assertTrue(tensors.use_numpy(None))
        else:
            self.assertFalse(tensors.use_numpy(None))
            with self.assertRaisesRegex(ValueError, "numpy is not installed"):
                tensors.use_numpy(True)


if __name__ == "__main__":
    unittest.main()
