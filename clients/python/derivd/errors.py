"""Errors the client raises: a problem the service answered, or no answer at all."""


class DerivdProblem(Exception):
    """An RFC 9457 problem from the service (4xx or 5xx).

    ``errors`` lists every issue the service found, each ``{"path": ..., "message": ...}``
    with ``path`` in the service's dot-and-bracket notation (``graph.nodes[3].args[1]``).
    """

    def __init__(self, status, type=None, title=None, detail=None, errors=None, instance=None, body=None):
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors = list(errors or [])
        self.instance = instance
        self.body = body
        super().__init__(self._message())

    def _message(self):
        head = "%s %s" % (self.status, self.title or "error")
        if self.detail:
            head += ": " + self.detail
        lines = [head] + ["  %s: %s" % (e.get("path", ""), e.get("message", "")) for e in self.errors]
        return "\n".join(lines)

    @classmethod
    def from_response(cls, status, text):
        """The problem in a response body; a body that is not a problem is kept as ``detail``."""
        import json

        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(status, title="unexpected response", detail=text[:2000], body=text)
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        return cls(
            status,
            type=body.get("type"),
            title=body.get("title"),
            detail=body.get("detail"),
            errors=[e for e in errors if isinstance(e, dict)],
            instance=body.get("instance"),
            body=body,
        )


class DerivdConnectionError(ConnectionError):
    """The service did not answer: refused, unreachable, or timed out. The message names the URL."""
