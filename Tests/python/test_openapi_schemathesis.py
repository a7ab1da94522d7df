"""docs/openapi.yaml against the live daemon: schemathesis generates requests for every operation
(schema-valid ones and, in negative mode, invalid ones) and checks that the server never answers 5xx
and that each status code, content type, header set and JSON body is the one the description gives.

Bounded: at most MAX_EXAMPLES examples per operation and mode, and generation is capped (see
`bounded`) so one run takes well under two minutes on the tiny checkpoint."""
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402  (after the importorskip above)
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
MAX_EXAMPLES = 25
# Generated values may ask for 2^31 tokens or 128 choices; the daemon would honour them (slowly).
# Caps keep every request schema-valid while bounding the work per example.
CAPS = {"max_tokens": 4, "max_completion_tokens": 4, "n": 2, "min_tokens": 0}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(SPEC)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


def bounded(case):
    """Caps the generation size of a JSON body in place (other bodies are left as generated)."""
    body = case.body
    if not isinstance(body, dict):
        return
    for key, cap in CAPS.items():
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > cap:
            body[key] = cap
    # A schema-valid model name that the server serves, half of the time, to reach the 200 paths.
    if isinstance(body.get("model"), str) and len(body["model"]) % 2 == 0:
        body["model"] = "tiny"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_openapi_description(case, server):
    bounded(case)
    case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=30)


# Requests that reach each documented response for sure (generated ones may miss the 200 paths):
# (path, method, JSON body or None, expected status).
EXPLICIT = [
    ("/v1/completions", "POST", {"model": "tiny", "prompt": "ROMEO:", "max_tokens": 4}, 200),
    ("/v1/completions", "POST", {"model": "tiny", "prompt": ["a", "b"], "n": 2, "max_tokens": 3,
                                 "logprobs": 2, "echo": True, "seed": 7}, 200),
    ("/v1/completions", "POST", {"model": "tiny", "prompt": [1, 2, 3], "max_tokens": 4, "stream": True,
                                 "stream_options": {"include_usage": True}, "logprobs": 1}, 200),
    ("/v1/completions", "POST", {"model": "tiny", "prompt": "x", "temperature": 9}, 400),
    ("/v1/completions", "POST", {"model": "nope", "prompt": "x"}, 404),
    ("/v1/completions", "POST", {"model": "tiny", "prompt": "x", "max_tokens": 100000}, 400),
    ("/v1/chat/completions", "POST", {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}],
                                      "max_tokens": 4, "logprobs": True, "top_logprobs": 2}, 200),
    ("/v1/chat/completions", "POST", {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}],
                                      "max_completion_tokens": 4, "stream": True, "n": 2,
                                      "stream_options": {"include_usage": True}}, 200),
    ("/v1/chat/completions", "POST", {"model": "tiny", "messages": []}, 400),
    ("/v1/models", "GET", None, 200),
    ("/version", "GET", None, 200),
    ("/tokenize", "POST", {"prompt": "Hello world"}, 200),
    ("/tokenize", "POST", {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}]}, 200),
    ("/detokenize", "POST", {"tokens": [1, 2, 3]}, 200),
    ("/detokenize", "POST", {"tokens": [-1]}, 400),
    ("/health", "GET", None, 200),
    ("/ready", "GET", None, 200),
    ("/metrics", "GET", None, 200),
]


@pytest.mark.parametrize("path,method,body,status", EXPLICIT, ids=[f"{m} {p} {s}" for p, m, _, s in EXPLICIT])
def test_documented_responses_conform(server, path, method, body, status):
    operation = schema[path][method]
    case = operation.Case(body=body, media_type="application/json") if body is not None else operation.Case()
    response = case.call_and_validate(base_url=server.url, checks=CHECKS, timeout=30)
    assert response.status_code == status, response.text
