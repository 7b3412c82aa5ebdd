import json
import subprocess
import sys
import textwrap

import pytest

from guards.output import OutputGuard
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def guard():
    return OutputGuard()


def test_valid_answer_passes(guard):
    result = guard.check('{"answer": "25 days [1]", "sources": [1], "confidence": 0.9}', retrieved=3)
    assert result.passed and result.value.sources == [1]


def test_citing_a_passage_that_was_not_retrieved_fails_with_a_reason(guard):
    result = guard.check('{"answer": "x [4]", "sources": [4], "confidence": 0.9}', retrieved=3)
    assert not result.passed and "[4] were not among those provided" in result.problems[0]


def test_no_citation_fails(guard):
    assert not guard.check('{"answer": "x", "sources": [], "confidence": 0.9}', retrieved=3).passed


def test_schema_violations_are_explained(guard):
    result = guard.check('```json\n{"answer": "x [1]", "sources": [1], "confidence": 7}\n```', retrieved=1)
    assert not result.passed and "confidence" in result.problems[0]
    assert "Not valid JSON" in guard.check("Sure! The answer is 25.", retrieved=1).problems[0]


# Runs guardrails in a fresh interpreter whose sockets refuse and record every connection
# that is not to loopback, then flushes guardrails' span exporter so anything queued is sent.
PROBE = textwrap.dedent("""
    import json, socket, sys
    attempts = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            attempts.append(str(host))
            raise socket.gaierror("network disabled by test")
        return real_getaddrinfo(host, *args, **kwargs)
    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1"):
            attempts.append(str(address[0]))
            raise OSError("network disabled by test")
        return real_connect(self, address)
    socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect

    if sys.argv[1] == "ours":
        from guards.output import OutputGuard
        guard = OutputGuard()
        for raw in ('{"answer": "a [1]", "sources": [1], "confidence": 0.5}', '{"answer": "a", "sources": [3], "confidence": 0.5}'):
            guard.check(raw, retrieved=1)
    else:  # guardrails as it comes: the control that shows this probe can see telemetry
        import guards._guardrails  # offline nltk path only
        from guardrails import Guard
        from guardrails.settings import settings
        from pydantic import BaseModel
        class A(BaseModel):
            answer: str
        guard = Guard.for_pydantic(A)
        settings.rc.enable_metrics = True
        guard.configure(allow_metrics_collection=True)
        guard.parse('{"answer": "a"}')
    from guardrails.utils.hub_telemetry_utils import HubTelemetry
    telemetry = HubTelemetry()
    telemetry._tracer_provider.force_flush(5000)
    print(json.dumps({"attempts": attempts, "enabled": telemetry._enabled}))
""")


def run_probe(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_guardrails_telemetry_is_off_and_nothing_leaves_the_machine():
    ours = run_probe("ours")
    assert ours == {"attempts": [], "enabled": False}
    control = run_probe("control")
    assert control["enabled"] and control["attempts"], "the probe must see guardrails' telemetry when it is on"
