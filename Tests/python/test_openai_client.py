"""The official openai client against the built daemon: shapes, streaming, errors, concurrency, drain."""
import concurrent.futures
import json
import signal
import socket
import time
import urllib.error
import urllib.request

import openai
import pytest

from conftest import Server

PROMPT = "The quick brown fox"


def greedy_completion(client, prompt, max_tokens=12):
    r = client.completions.create(model="tiny", prompt=prompt, max_tokens=max_tokens, temperature=0,
                                  extra_body={"ignore_eos": True})
    return r.choices[0].text


def test_completion_shape_and_usage(client):
    r = client.completions.create(model="tiny", prompt=PROMPT, max_tokens=8, temperature=0,
                                  extra_body={"ignore_eos": True})
    assert r.object == "text_completion" and r.id.startswith("cmpl-") and r.model == "tiny"
    assert len(r.choices) == 1 and r.choices[0].index == 0 and r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 8 and r.usage.prompt_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + 8
    assert isinstance(r.choices[0].text, str) and r.choices[0].text


def test_chat_shape(client):
    r = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hello"}],
                                       max_tokens=6, temperature=0)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert r.choices[0].message.role == "assistant" and isinstance(r.choices[0].message.content, str)
    assert r.choices[0].finish_reason in ("length", "stop")


def test_streaming_equals_whole_and_reports_usage(client):
    whole = greedy_completion(client, PROMPT, 10)
    stream = client.completions.create(model="tiny", prompt=PROMPT, max_tokens=10, temperature=0, stream=True,
                                       stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
    chunks = list(stream)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == whole
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 10


def test_chat_stream_starts_with_role(client):
    stream = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Hi"}],
                                            max_tokens=5, temperature=0, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("length", "stop")


def test_n_2_returns_two_choices(client):
    r = client.completions.create(model="tiny", prompt=PROMPT, max_tokens=5, n=2, temperature=1.0, seed=7)
    assert sorted(c.index for c in r.choices) == [0, 1]
    assert r.usage.completion_tokens == sum(1 for _ in r.choices) * 5 or r.usage.completion_tokens <= 10


def test_stop_string_is_not_emitted(client):
    full = greedy_completion(client, PROMPT, 16)
    stop = full[4:7] if len(full) >= 7 else full[-2:]
    r = client.completions.create(model="tiny", prompt=PROMPT, max_tokens=16, temperature=0, stop=[stop],
                                  extra_body={"ignore_eos": True})
    assert r.choices[0].finish_reason == "stop"
    assert stop not in r.choices[0].text and full.startswith(r.choices[0].text)


def test_logprobs(client):
    r = client.completions.create(model="tiny", prompt=PROMPT, max_tokens=4, temperature=0, logprobs=3,
                                  extra_body={"ignore_eos": True})
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == 4 and len(lp.token_logprobs) == 4
    assert all(v <= 0 for v in lp.token_logprobs)
    assert all(len(t) >= 1 for t in lp.top_logprobs)
    c = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "x"}], max_tokens=3,
                                       temperature=0, logprobs=True, top_logprobs=2)
    content = c.choices[0].logprobs.content
    assert len(content) >= 1 and len(content[0].top_logprobs) == 2


def test_models_endpoint(client):
    models = client.models.list()
    assert [m.id for m in models.data] == ["tiny"]
    assert client.models.retrieve("tiny").id == "tiny"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4")


def test_bad_parameter_is_400_naming_it(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="tiny", prompt=PROMPT, max_tokens=4, temperature=-1)
    assert "temperature" in str(e.value)


def test_tools_and_json_mode_are_refused_not_ignored(client):
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="tiny", messages=messages, max_tokens=2, tools=tools)
    assert "tool" in str(e.value)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="tiny", messages=messages, max_tokens=2,
                                       response_format={"type": "json_object"})
    assert "response_format" in str(e.value)
    c = client.chat.completions.create(model="tiny", messages=messages, max_tokens=2, tools=tools,
                                       tool_choice="none")
    assert c.choices[0].message.tool_calls is None


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="nope", prompt=PROMPT, max_tokens=4)


def test_prompt_longer_than_context_is_400(client):
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="tiny", prompt=[1] + [100] * 5000, max_tokens=4)


def raw(server, method, path, body=None, headers=None):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except urllib.error.URLError:
        return 0, b""  # refused: the listener is closed


def test_error_statuses_have_openai_bodies(server):
    for method, path, body, status in [
        ("GET", "/nope", None, 404),
        ("GET", "/v1/completions", None, 405),
        ("POST", "/v1/completions", b"{not json", 400),
        ("POST", "/v1/completions", b"x" * (64 << 20), 413),
    ]:
        code, payload = raw(server, method, path, body)
        assert code == status, (path, code)
        if status != 413:
            err = json.loads(payload)["error"]
            assert set(err) >= {"message", "type", "param", "code"}


def test_health_ready_metrics(server):
    assert raw(server, "GET", "/health")[0] == 200
    assert raw(server, "GET", "/ready")[0] == 200
    text = server.metrics()
    for name in ["pangu:num_requests_running", "pangu:num_requests_waiting", "pangu:kv_cache_usage_perc",
                 "pangu:prompt_tokens_total", "pangu:generation_tokens_total", "pangu:time_to_first_token_seconds",
                 "pangu:e2e_request_latency_seconds", "pangu:http_requests_total"]:
        assert name in text, name


def test_tokenize_detokenize(server):
    code, body = raw(server, "POST", "/tokenize", {"model": "tiny", "prompt": "Hello world"})
    assert code == 200
    tokens = json.loads(body)
    assert tokens["count"] == len(tokens["tokens"]) and tokens["max_model_len"] > 0
    code, body = raw(server, "POST", "/detokenize", {"model": "tiny", "tokens": tokens["tokens"]})
    assert code == 200 and "Hello world" in json.loads(body)["prompt"]


def test_disconnect_mid_stream_frees_blocks(server):
    body = json.dumps({"model": "tiny", "prompt": PROMPT, "max_tokens": 1500, "stream": True,
                       "ignore_eos": True}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    received = b""
    while received.count(b"data:") < 3:
        received += sock.recv(4096)
    assert server.metric("pangu:num_requests_running") >= 1
    sock.close()
    deadline = time.time() + 10
    while time.time() < deadline and (server.metric("pangu:num_requests_running") > 0
                                      or server.metric("pangu:kv_cache_usage_perc") > 0):
        time.sleep(0.05)
    assert server.metric("pangu:num_requests_running") == 0
    assert server.metric("pangu:kv_cache_usage_perc") == 0


def test_32_concurrent_streams_equal_sequential(client):
    prompts = [f"{PROMPT} {i}" * (1 + i % 3) for i in range(32)]
    sequential = [greedy_completion(client, p, 8) for p in prompts]

    def stream(p):
        s = client.completions.create(model="tiny", prompt=p, max_tokens=8, temperature=0, stream=True,
                                      extra_body={"ignore_eos": True})
        return "".join(c.choices[0].text for c in s if c.choices)

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        concurrent_results = list(pool.map(stream, prompts))
    assert concurrent_results == sequential


def test_api_key_auth():
    s = Server("--api-key", "sekret")
    try:
        from openai import OpenAI
        bad = OpenAI(base_url=s.url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.models.list()
        good = OpenAI(base_url=s.url + "/v1", api_key="sekret", max_retries=0)
        assert good.models.list().data[0].id == "tiny"
        assert raw(s, "GET", "/health")[0] == 200 and raw(s, "GET", "/metrics")[0] == 200
    finally:
        s.stop()


def test_queue_full_is_429():
    s = Server("--max-num-seqs", "1", "--max-num-waiting-requests", "1")
    try:
        from openai import OpenAI
        c = OpenAI(base_url=s.url + "/v1", api_key="x", max_retries=0, timeout=60)

        def long_request(_):
            try:
                c.completions.create(model="tiny", prompt=PROMPT, max_tokens=300, extra_body={"ignore_eos": True})
                return "ok"
            except openai.RateLimitError:
                return "429"

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            results = list(pool.map(long_request, range(6)))
        assert "429" in results and "ok" in results
    finally:
        s.stop()


def test_sigterm_drains_in_flight_stream():
    s = Server()
    from openai import OpenAI
    c = OpenAI(base_url=s.url + "/v1", api_key="x", max_retries=0, timeout=60)
    stream = c.completions.create(model="tiny", prompt=PROMPT, max_tokens=200, temperature=0, stream=True,
                                  extra_body={"ignore_eos": True})
    first = next(iter(stream))
    s.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    assert raw(s, "GET", "/ready")[0] in (503, 0)  # draining: not ready, or no longer accepting
    rest = list(stream)
    assert rest and rest[-1].choices[0].finish_reason == "length"
    assert s.process.wait(timeout=30) == 0
    assert first.choices
