"""Tensors between Python and the wire.

Python side: a number, nested lists (or tuples) of numbers, or a numpy array when
numpy is installed. Wire side: a bare number for shape [], nested lists otherwise,
with the strings "NaN", "Infinity" and "-Infinity" for the floats JSON cannot write;
or the base64 form {"dtype": "float64", "shape": [...], "data": ...}, the elements
as little-endian doubles, which is exact (-0 too) and about a third of the bytes.
"""

import base64
import math
import numbers
import os
import struct

# numpy is optional; DERIVD_NO_NUMPY=1 makes the client behave as if it were missing.
if os.environ.get("DERIVD_NO_NUMPY", "") not in ("", "0"):
    _np = None
else:
    try:
        import numpy as _np
    except ImportError:  # pragma: no cover - depends on the machine
        _np = None

# Arrays with at least this many elements are sent as base64.
BASE64_MIN_ELEMENTS = 1024

_WIRE_STRINGS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def numpy_available():
    return _np is not None


def use_numpy(choice):
    """Whether results become numpy arrays: `choice` (True, False, or None for 'when installed')."""
    if choice is None:
        return _np is not None
    if choice and _np is None:
        raise ValueError("numpy=True, but numpy is not installed (or DERIVD_NO_NUMPY is set)")
    return bool(choice)


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_ndarray(v):
    return _np is not None and isinstance(v, _np.ndarray)


def wire_float(x):
    """A float as JSON can carry it: the number, or one of the wire strings when it is not finite."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def shape_of(value, path="value"):
    """The shape of a number or of rectangular nested lists; ValueError naming the path otherwise."""
    if _is_ndarray(value):
        return list(value.shape)
    if _is_number(value):
        return []
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            return [0]
        shapes = [shape_of(v, "%s[%d]" % (path, i)) for i, v in enumerate(value)]
        for i, s in enumerate(shapes):
            if s != shapes[0]:
                raise ValueError("%s[%d]: expected shape %s like %s[0], found %s" % (path, i, shapes[0], path, s))
        return [len(value)] + shapes[0]
    raise ValueError("%s: expected a number, nested lists of numbers or a numpy array, found %s" % (path, type(value).__name__))


def _flatten(value, out):
    if isinstance(value, (list, tuple)):
        for v in value:
            _flatten(v, out)
    else:
        out.append(float(value))
    return out


def _nested_wire(value):
    if isinstance(value, (list, tuple)):
        return [_nested_wire(v) for v in value]
    return wire_float(value)


def _size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def encode_base64(value):
    """The base64 wire form of a number, nested lists or a numpy array."""
    if _is_ndarray(value):
        arr = _np.ascontiguousarray(value, dtype="<f8")
        return {"dtype": "float64", "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode("ascii")}
    shape = shape_of(value)
    flat = _flatten(value, [])
    data = struct.pack("<%dd" % len(flat), *flat)
    return {"dtype": "float64", "shape": shape, "data": base64.b64encode(data).decode("ascii")}


def to_wire(value, path="value", base64_min=BASE64_MIN_ELEMENTS):
    """A tensor for a request: base64 when it has at least `base64_min` elements, JSON otherwise.

    A dict already in the base64 form and the wire strings pass through unchanged.
    """
    if isinstance(value, dict) or isinstance(value, str):
        return value
    if _is_ndarray(value):
        if value.size >= base64_min:
            return encode_base64(value)
        return _nested_wire(value.astype(float).tolist())
    if _np is not None and isinstance(value, _np.generic):
        return wire_float(value)
    shape = shape_of(value, path)
    if shape == []:
        return wire_float(value)
    if _size(shape) >= base64_min:
        return encode_base64(value)
    return _nested_wire(value)


def _nested_floats(value):
    if isinstance(value, list):
        return [_nested_floats(v) for v in value]
    if isinstance(value, str):
        return _WIRE_STRINGS[value]
    return float(value)


def _unflatten(flat, shape):
    if len(shape) == 0:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = _size(shape[1:])
    return [_unflatten(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def from_wire(value, numpy=False):
    """A result tensor: a float for shape [], else nested lists of floats or a numpy array."""
    if isinstance(value, dict) and value.get("dtype") == "float64":
        shape = [int(s) for s in value["shape"]]
        raw = base64.b64decode(value["data"], validate=True)
        if numpy:
            arr = _np.frombuffer(raw, dtype="<f8").astype(float).reshape(shape)
            return float(arr) if shape == [] else arr
        flat = struct.unpack("<%dd" % (len(raw) // 8), raw)
        if shape == []:
            return flat[0]
        return _unflatten(flat, shape)
    floats = _nested_floats(value)
    if numpy and isinstance(floats, list):
        return _np.array(floats, dtype=float)
    return floats
