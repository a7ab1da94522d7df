"""Serving through a simulated Ascend NPU worker: real answers, device memory and time on /metrics."""
import json
import urllib.request

from conftest import Server


def test_npu_worker_serves_and_reports_device_metrics():
    s = Server("--devices", "npu:910B2")
    try:
        body = json.dumps({"model": "tiny", "prompt": "Hello", "max_tokens": 6, "temperature": 0,
                           "ignore_eos": True}).encode()
        req = urllib.request.Request(s.url + "/v1/completions", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
        assert answer["usage"]["completion_tokens"] == 6
        assert s.metric("pangu:device_memory_total_bytes") == 64 * 2**30
        assert 0 < s.metric("pangu:device_memory_used_bytes") <= 64 * 2**30
        assert s.metric("pangu:device_busy_seconds_total") > 0
        assert s.metric("pangu:device_simulated_seconds_total") >= s.metric("pangu:device_busy_seconds_total")
    finally:
        assert s.stop() == 0
