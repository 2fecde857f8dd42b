"""README.md's Python example runs against the service and prints what the README shows."""

import contextlib
import io
import os
import re
import unittest

from support import server_url

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")


class Readme(unittest.TestCase):
    def test_the_seed_example_prints_the_output_shown_after_it(self):
        text = open(README, encoding="utf-8").read()
        blocks = re.findall(r"```python\n(.*?)```\n\nprints\n\n```text\n(.*?)```", text, re.S)
        self.assertEqual(len(blocks), 1, "one python example followed by its output")
        code, shown = blocks[0]
        code = code.replace('"http://127.0.0.1:8080"', repr(server_url(self)))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, README, "exec"), {"__name__": "readme"})
        self.assertEqual(out.getvalue(), shown)


if __name__ == "__main__":
    unittest.main()
