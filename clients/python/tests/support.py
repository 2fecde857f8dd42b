"""Shared pieces of the client tests: the service URL, and the seed problem in plain Python.

The seed problem (docs/graph-format.md, test/helpers/seed.ts):
    r(d, xs) = d - (d·f / f·f) f,  f = exp(-1.5 (t - xs)^2),  t = -10..10 (21 points)
    d[i] = exp(-1.5 (t[i] - 0.3)^2) + 0.01 sin(i),  xs = 0.1
"""

import math
import os
import unittest

import derivd
from derivd import dot, exp

T = [float(i) for i in range(-10, 11)]
D = [math.exp(-1.5 * (ti - 0.3) ** 2) + 0.01 * math.sin(i) for i, ti in enumerate(T)]
XS = 0.1


def server_url(case):
    """DERIVD_URL, the service under test; without it the test is skipped (or fails, when
    DERIVD_REQUIRE_SERVER is set, as the vitest runner sets it: there a skip would hide a failure)."""
    url = os.environ.get("DERIVD_URL")
    if not url:
        if os.environ.get("DERIVD_REQUIRE_SERVER"):
            case.fail("DERIVD_URL is not set")
        raise unittest.SkipTest("DERIVD_URL is not set: no derivd service to test against")
    return url


def pydot(a, b):
    return sum(x * y for x, y in zip(a, b))


def r_ref(d, xs):
    """The residual, computed here in plain Python."""
    f = [math.exp(-1.5 * (ti - xs) ** 2) for ti in T]
    c = pydot(d, f) / pydot(f, f)
    return [di - c * fi for di, fi in zip(d, f)]


def s_ref(d, xs):
    return pydot(r_ref(d, xs), r_ref(d, xs))


def central(fn, x, h=1e-5):
    """d/dx fn(x) by the 4-point central difference (error O(h^4) + O(eps/h)); fn returns a list or a float."""
    pts = [fn(x + k * h) for k in (-2, -1, 1, 2)]
    if isinstance(pts[0], list):
        return [(a - 8 * b + 8 * c - e) / (12 * h) for a, b, c, e in zip(*pts)]
    a, b, c, e = pts
    return (a - 8 * b + 8 * c - e) / (12 * h)


def seed_graph(scalar=False):
    """The seed problem built with the builder; with `scalar`, s = sum(r^2) is the only output."""
    g = derivd.graph()
    d = g.input("d", (21,))
    xs = g.input("xs", ())
    f = exp(-1.5 * (T - xs) ** 2)  # T, a list, becomes a const node
    r = d - dot(d, f) / dot(f, f) * f
    if scalar:
        g.output("s", derivd.sum(r**2))
    else:
        g.output("r", r)
    return g


def tolist(v):
    """A result tensor as nested lists, whether the client returned lists or a numpy array."""
    return v.tolist() if hasattr(v, "tolist") else v


def assert_close(case, actual, expected, tol, label=""):
    """Every element within tol * max(1, |expected|)."""
    actual, expected = tolist(actual), tolist(expected)
    if isinstance(expected, list):
        case.assertEqual(len(actual), len(expected), label)
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(case, a, e, tol, "%s[%d]" % (label, i))
        return
    case.assertLessEqual(abs(actual - expected), tol * max(1.0, abs(expected)), "%s: %r vs %r" % (label, actual, expected))
