"""The client's HTTP behaviour against a small fake service (http.server), for what a real
one does only rarely: forgetting a stored graph, never finding it, answering gzip,
answering too slowly. No DERIVD_URL needed."""

import gzip
import http.server
import json
import threading
import time
import unittest

import derivd

ID = "ab" * 32
UNKNOWN = {"type": "urn:derivd:problem:unknown-graph", "title": "No graph is stored under this id", "status": 404}


class FakeService(http.server.ThreadingHTTPServer):
    """Stores one graph id; `known` False makes calls on it answer unknown-graph."""

    block_on_close = False  # closing does not wait for a deliberately slow answer

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.known = False
        self.forget_on_register = False  # a service that never keeps what it stores
        self.requests = []
        self.gzip = False
        self.delay = 0.0
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        svc = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        svc.requests.append((self.path, body, dict(self.headers)))
        time.sleep(svc.delay)
        if self.path == "/v1/graphs":
            svc.known = not svc.forget_on_register
            return self.answer(201, {"id": ID, "inputs": body["graph"]["inputs"], "outputs": body["graph"]["outputs"], "nodes": 1})
        if self.path == "/v1/graphs/%s/gradient" % ID and svc.known:
            return self.answer(200, {"values": {"s": 1}, "gradient": {"x": [2, "NaN"]}, "mode": "reverse"})
        if self.path == "/v1/explain":
            return self.answer(200, {"operation": body.get("operation", "jacobian"), "mode": "reverse", "directions": 1})
        if self.path.startswith("/v1/graphs/"):
            return self.answer(404, dict(UNKNOWN, errors=[{"path": "graphId", "message": "no graph is stored"}]))
        return self.answer(404, {"type": "about:blank", "title": "Not Found", "status": 404})

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if status < 400 else "application/problem+json")
        if self.server.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)


def scalar_graph():
    g = derivd.graph()
    x = g.input("x", (2,))
    g.output("s", derivd.sum(x**2))
    return g


class StoredGraphRetries(unittest.TestCase):
    def setUp(self):
        self.svc = FakeService()
        self.addCleanup(self.svc.server_close)
        self.addCleanup(self.svc.shutdown)
        self.client = derivd.Derivd(self.svc.url, token="sekret", numpy=False)

    def paths(self):
        return [p for p, _, _ in self.svc.requests]

    def test_registered_once_then_called_by_id_with_the_token(self):
        g = scalar_graph()
        res = self.client.gradient(g, args={"x": [1, 2]})
        self.client.gradient(g, args={"x": [3, 4]})
        self.assertEqual(self.paths(), ["/v1/graphs", "/v1/graphs/%s/gradient" % ID, "/v1/graphs/%s/gradient" % ID])
        self.assertEqual(self.svc.requests[1][1], {"args": {"x": [1.0, 2.0]}})
        self.assertEqual(self.svc.requests[1][2]["Authorization"], "Bearer sekret")
        self.assertEqual(res.gradient["x"][0], 2.0)
        self.assertNotEqual(res.gradient["x"][1], res.gradient["x"][1])  # "NaN" read as a NaN

    def test_a_forgotten_graph_is_registered_again_and_the_call_repeated_once(self):
        g = scalar_graph()
        self.client.gradient(g, args={"x": [1, 2]})
        self.svc.known = False  # the service forgot it (LRU, restart, another replica)
        res = self.client.gradient(g, args={"x": [1, 2]})
        self.assertEqual(res.values["s"], 1.0)
        call = "/v1/graphs/%s/gradient" % ID
        self.assertEqual(self.paths(), ["/v1/graphs", call, call, "/v1/graphs", call])

    def test_a_graph_never_found_is_raised_after_one_retry_not_looped(self):
        self.svc.forget_on_register = True
        with self.assertRaises(derivd.DerivdProblem) as caught:
            self.client.gradient(scalar_graph(), args={"x": [1, 2]})
        self.assertEqual(caught.exception.type, "urn:derivd:problem:unknown-graph")
        self.assertEqual(caught.exception.errors[0]["path"], "graphId")
        call = "/v1/graphs/%s/gradient" % ID
        self.assertEqual(self.paths(), ["/v1/graphs", call, "/v1/graphs", call])

    def test_another_404_is_not_retried(self):
        with self.assertRaises(derivd.DerivdProblem) as caught:
            self.client.gradient({"inputs": [], "nodes": [], "outputs": ["x"]}, args={}, graph_id=None, stored=False)
        self.assertEqual(caught.exception.status, 404)
        self.assertEqual(self.paths(), ["/v1/gradient"])

    def test_explain_sends_the_graph_inline_with_the_operation(self):
        g = scalar_graph()
        res = self.client.explain(g, args={"x": [1, 2]}, constant=[], operation="hessian")
        self.assertEqual(res.operation, "hessian")
        self.assertEqual(self.paths(), ["/v1/explain"])
        self.assertEqual(self.svc.requests[0][1], {"graph": g.to_json(), "args": {"x": [1.0, 2.0]}, "constant": [], "operation": "hessian"})

    def test_a_gzip_answer_is_read(self):
        self.svc.gzip = True
        res = self.client.gradient(scalar_graph(), args={"x": [1, 2]})
        self.assertEqual(res.mode, "reverse")

    def test_a_slow_answer_is_a_connection_error_after_the_timeout(self):
        self.svc.delay = 1.0
        slow = derivd.Derivd(self.svc.url, timeout=0.2)
        start = time.monotonic()
        with self.assertRaisesRegex(derivd.DerivdConnectionError, "/v1/graphs"):
            slow.gradient(scalar_graph(), args={"x": [1, 2]})
        self.assertLess(time.monotonic() - start, 0.9)


if __name__ == "__main__":
    unittest.main()
