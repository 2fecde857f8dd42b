"""The HTTP client: one method per operation, stored graphs used automatically."""

import gzip
import hashlib
import http.client
import json
import socket
import urllib.error
import urllib.request
import zlib

from . import tensors
from .errors import DerivdConnectionError, DerivdProblem
from .graph import Graph

UNKNOWN_GRAPH = "urn:derivd:problem:unknown-graph"

# Request fields holding one tensor per name; how deep each result field nests its tensors.
_TENSOR_MAPS = ("args", "tangents", "cotangents", "vector")
_RESULT_DEPTH = {"values": 1, "gradient": 1, "jvp": 1, "vjp": 1, "hvp": 1, "jacobian": 2, "hessian": 2}
_NAME_LISTS = ("constant", "outputs", "batched")
# Stored ids remembered per client; past this many graphs the oldest is forgotten (and
# registered again if used again).
_MAX_CACHED_IDS = 1024


def _graph_key(wire):
    text = json.dumps(wire, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Result:
    """A response: its fields as attributes (`res.values`, `res.jacobian`, `res.mode`,
    `res.reason`, `res.stats`, `res.timings`, ...) and by key (`res["jacobian"]`);
    `dict(res)` or `res.to_dict()` gives them as a dict. Not a dict subclass, because
    a dict's own `values` method would hide the result's `values`."""

    def __init__(self, fields):
        self.__dict__.update(fields)

    def __getitem__(self, key):
        return self.__dict__[key]

    def __contains__(self, key):
        return key in self.__dict__

    def __iter__(self):
        return iter(self.__dict__)

    def keys(self):
        return self.__dict__.keys()

    def get(self, key, default=None):
        return self.__dict__.get(key, default)

    def to_dict(self):
        return dict(self.__dict__)

    def __eq__(self, other):
        return isinstance(other, Result) and self.__dict__ == other.__dict__

    def __repr__(self):
        return "Result(%s)" % ", ".join("%s=%r" % kv for kv in self.__dict__.items())


def _decode(value, depth, numpy):
    if depth > 0:
        return {k: _decode(v, depth - 1, numpy) for k, v in value.items()}
    if isinstance(value, dict) and "rows" in value:  # a coo block: indices stay ints
        return dict(value, values=tensors.from_wire(value["values"], numpy))
    return tensors.from_wire(value, numpy)


def _decompress(raw, coding):
    coding = (coding or "").strip().lower()
    if coding in ("gzip", "x-gzip"):
        return gzip.decompress(raw)
    if coding == "deflate":
        return zlib.decompress(raw)
    return raw


class Derivd:
    """A derivd service at `url`.

    `token`: the API key (sent as `Authorization: Bearer`). `timeout`: seconds per HTTP
    request. `numpy`: results as numpy arrays (True), nested lists (False), or numpy
    when it is installed (None). `base64_min`: argument tensors with at least this many
    elements are sent as base64.
    """

    def __init__(self, url="http://127.0.0.1:8080", token=None, timeout=30, numpy=None, base64_min=tensors.BASE64_MIN_ELEMENTS):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.numpy = numpy
        self.base64_min = base64_min
        self._ids = {}  # sha256 of a graph's JSON text -> its stored id, oldest first

    def __repr__(self):
        return "Derivd(%r)" % self.url

    # -- operations -------------------------------------------------------------

    def evaluate(self, graph=None, **request):
        """`values` of the outputs."""
        return self._call("evaluate", graph, request)

    def jacobian(self, graph=None, **request):
        """`jacobian[output][input]`, shape output.shape + input.shape."""
        return self._call("jacobian", graph, request)

    def gradient(self, graph=None, **request):
        """`gradient[input]` of the one scalar output."""
        return self._call("gradient", graph, request)

    def jvp(self, graph=None, **request):
        """`jvp[output]` = J · tangents."""
        return self._call("jvp", graph, request)

    def vjp(self, graph=None, **request):
        """`vjp[input]` = cotangents · J."""
        return self._call("vjp", graph, request)

    def hessian(self, graph=None, **request):
        """`hessian[a][b]` of the one scalar output."""
        return self._call("hessian", graph, request)

    def hvp(self, graph=None, **request):
        """`hvp[input]` = H · vector."""
        return self._call("hvp", graph, request)

    def explain(self, graph=None, **request):
        """What a call would do, without computing: POST /v1/explain (`operation` defaults to jacobian)."""
        request.pop("stored", None)
        request.pop("numpy", None)
        body = self._body(request)
        body["graph"] = graph.to_json() if isinstance(graph, Graph) else graph
        return Result(self._post("/v1/explain", body))

    # -- stored graphs ----------------------------------------------------------

    def register(self, graph):
        """Stores the graph (a Graph or a wire dict) on the service; returns its id."""
        wire = graph.to_json() if isinstance(graph, Graph) else graph
        return self._register(wire, _graph_key(wire))

    def get_graph(self, graph_id):
        """The stored graph's summary with the graph in canonical form (GET /v1/graphs/<id>)."""
        return Result(self._request("GET", "/v1/graphs/" + graph_id, None))

    def _register(self, wire, key):
        graph_id = self._post("/v1/graphs", {"graph": wire})["id"]
        self._ids.pop(key, None)
        self._ids[key] = graph_id
        while len(self._ids) > _MAX_CACHED_IDS:
            del self._ids[next(iter(self._ids))]
        return graph_id

    # -- the call ---------------------------------------------------------------

    def _body(self, request):
        body = {}
        for key, value in request.items():
            if value is None:
                continue
            if key == "graph_id":
                key = "graphId"
            if key in _TENSOR_MAPS:
                value = {name: tensors.to_wire(v, "%s[%r]" % (key, name), self.base64_min) for name, v in value.items()}
            elif key in _NAME_LISTS and isinstance(value, str):
                value = [value]
            elif key in _NAME_LISTS:
                value = list(value)
            body[key] = value
        return body

    def _call(self, operation, graph, request):
        stored = request.pop("stored", None)
        numpy = tensors.use_numpy(request.pop("numpy", self.numpy))
        body = self._body(request)
        if graph is None and "graphId" not in body:
            raise ValueError("%s: pass a graph (a derivd.graph() or a wire dict) or graph_id" % operation)
        # Builder graphs are stored by default (sent once, then named by id); wire dicts go inline.
        if stored is None:
            stored = isinstance(graph, Graph)
        if graph is None:
            answer = self._post("/v1/" + operation, body)
        elif not stored:
            body["graph"] = graph.to_json() if isinstance(graph, Graph) else graph
            answer = self._post("/v1/" + operation, body)
        else:
            answer = self._call_stored(operation, graph, body)
        return Result({k: _decode(v, _RESULT_DEPTH[k], numpy) if k in _RESULT_DEPTH else v for k, v in answer.items()})

    def _call_stored(self, operation, graph, body):
        wire = graph.to_json() if isinstance(graph, Graph) else graph
        key = _graph_key(wire)
        graph_id = self._ids.get(key) or self._register(wire, key)
        try:
            return self._post("/v1/graphs/%s/%s" % (graph_id, operation), body)
        except DerivdProblem as e:
            if e.status != 404 or e.type != UNKNOWN_GRAPH:
                raise
        # The service forgot the graph (its store is an LRU, or this is another replica):
        # register it again (same id) and repeat the call once.
        graph_id = self._register(wire, key)
        return self._post("/v1/graphs/%s/%s" % (graph_id, operation), body)

    # -- HTTP -------------------------------------------------------------------

    def _post(self, path, body):
        return self._request("POST", path, body)

    def _request(self, method, path, body):
        url = self.url + path
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        data = None
        if body is not None:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = _decompress(resp.read(), resp.headers.get("Content-Encoding"))
        except urllib.error.HTTPError as e:
            raw = _decompress(e.read(), e.headers.get("Content-Encoding") if e.headers else None)
            raise DerivdProblem.from_response(e.code, raw.decode("utf-8", "replace")) from None
        except urllib.error.URLError as e:
            raise DerivdConnectionError("%s %s: %s" % (method, url, e.reason)) from None
        except (socket.timeout, TimeoutError):
            raise DerivdConnectionError("%s %s: no answer within %s s" % (method, url, self.timeout)) from None
        except (ConnectionError, http.client.HTTPException) as e:  # the connection dropped mid-answer
            raise DerivdConnectionError("%s %s: %s" % (method, url, e)) from None
        return json.loads(raw.decode("utf-8"))
