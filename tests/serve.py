"""`bot serve --http` as a process, for the tests and benchmarks that need a real worker."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from tests.slack_helpers import SECRET, signed_http

READY = "listening at http://"


class Serve:
    """Started with `env`; `wait_ready` returns once the worker says it listens (its own word on
    stderr, not a guess at how long start-up takes)."""

    def __init__(self, env: dict[str, str], port: int, *options: str) -> None:
        """`options`: more of `bot serve`'s, e.g. `--sync-sources`."""
        self.port = port
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [Path(sys.executable).parent / "bot", "serve", "--http", "--port", str(port), *options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for (
            line
        ) in self.process.stderr:  # read to the end, so the worker never blocks on a full pipe
            self.output.append(line)
            if READY in line:
                self._ready.set()
        self._ready.set()  # exited: wait_ready then reports it

    def wait_ready(self, timeout_s: float = 180) -> None:
        self._ready.wait(timeout=timeout_s)
        assert self.process.poll() is None and any(READY in line for line in self.output), (
            "bot serve did not start:\n" + "".join(self.output[-40:])
        )

    def post(self, raw: str, content_type: str = "application/json", **headers: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=raw.encode(),
            method="POST",
            headers={k: v[0] for k, v in signed_http(raw, SECRET, content_type, **headers).items()},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status

    def interact(self, payload: dict) -> int:
        payload = {"user": {"id": "U9"}, "team": {"id": "T1"}, "api_app_id": "A1", **payload}
        return self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def stop(self) -> None:
        """SIGTERM, as a supervisor stops it: the server exits cleanly and its last spans are exported.
        A worker that does not has printed its threads' stacks (bot/web/serving.py), shown with the failure."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._reader.join(timeout=30)  # to the end of its stderr
            assert self.process.returncode == 0, (
                f"bot serve exited {self.process.returncode} after SIGTERM:\n"
                + "".join(self.output[-80:])
            )
