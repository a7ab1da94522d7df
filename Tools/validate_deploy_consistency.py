#!/usr/bin/env python3
"""The cross-checks of Tools/validate-deploy.sh: what no format validator can see.

Reads the Swift sources for the truth (option names in ServeOptions.swift, metric families in
APIMetrics.swift, routes in OpenAIRoutes.swift) and checks that Deploy/ and docs/openapi.yaml
use only those, that the Kubernetes objects reference each other consistently, that the drain
timing adds up, and that the CRD objects (InferencePool, HTTPRoute) fit a subset schema of
their upstream v1 definitions. Usage: validate_deploy_consistency.py RENDERED_K8S_DIR
(the folder where validate-deploy.sh put the `kubectl kustomize` output)."""
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "Deploy"
errors: list[str] = []


def check(condition, message):
    if not condition:
        errors.append(message)
    return condition


# ---- the truth, from the sources ----

def source_options():
    text = (ROOT / "Sources/PanguServe/ServeOptions.swift").read_text()
    return set(re.findall(r'OptionSpec\(\s*name: "(\w+)"', text)) - {"help"}


def env_name(option):
    return "PANGU_SERVE_" + re.sub(r"([A-Z])", r"_\1", option).upper()


def source_metrics():
    """Every series name the daemon exports (with _total, _bucket/_sum/_count suffixes)."""
    text = (ROOT / "Sources/OpenAIAPI/APIMetrics.swift").read_text()
    names = set()
    for base in re.findall(r'histogram\(\s*"(\w+)"', text):
        names |= {f"pangu:{base}_bucket", f"pangu:{base}_sum", f"pangu:{base}_count"}
    for base, kind in re.findall(r'collect\("(\w+)", "[^"]*", \.(counter|gauge)\)', text):
        names.add(f"pangu:{base}_total" if kind == "counter" else f"pangu:{base}")
    for base in re.findall(r'perDevice\("(\w+)"', text):
        names.add(f"pangu:{base}")
    for base, kind in re.findall(r'name: p \+ "(\w+)", help: "[^"]*", type: \.(counter|gauge)', text):
        names.add(f"pangu:{base}_total" if kind == "counter" else f"pangu:{base}")
    for base in re.findall(r'registry\.counter\(\s*name: p \+ "(\w+)"', text):
        names.add(f"pangu:{base}_total")
    for required in ("pangu:num_requests_waiting", "pangu:kv_cache_usage_perc", "pangu:request_success_total",
                     "pangu:time_to_first_token_seconds_bucket", "pangu:http_requests_total",
                     "pangu:device_kv_cache_usage_perc", "pangu:cache_config_info"):
        if required not in names:
            sys.exit(f"consistency: could not read metric {required} from APIMetrics.swift (update this script)")
    return names


def source_routes():
    text = (ROOT / "Sources/OpenAIAPI/OpenAIRoutes.swift").read_text()
    # a rest-of-path parameter `{name...}` is `{name}` in OpenAPI
    return {(method, path.replace("...}", "}"))
            for method, path in re.findall(r'router\.add\(\.(get|post), "([^"]+)"', text)}


OPTIONS = source_options()
METRICS = source_metrics()
METRIC_REF = re.compile(r"(?<![\w:])pangu:[A-Za-z0-9_]+")


def check_metric_refs(where, text):
    for name in sorted(set(METRIC_REF.findall(text))):
        check(name in METRICS, f"{where}: {name} is not a metric pangu-serve exports")


# ---- systemd ----

def check_systemd():
    unit = (DEPLOY / "systemd/pangu-serve.service").read_text()
    env = (DEPLOY / "systemd/pangu-serve.env").read_text()
    known = {env_name(o): o for o in OPTIONS}
    values = {}
    for line in env.splitlines():
        line = line.strip().lstrip("# ").strip()
        match = re.match(r"^(PANGU_SERVE_[A-Z_]+)=(.*)$", line)
        if match:
            check(match.group(1) in known, f"pangu-serve.env: {match.group(1)} is not an option")
            values[match.group(1)] = match.group(2)
    stop = re.search(r"^TimeoutStopSec=(\d+)s?$", unit, re.M)
    drain = int(values.get("PANGU_SERVE_DRAIN_TIMEOUT", "30"))
    if check(stop, "pangu-serve.service: TimeoutStopSec missing"):
        check(int(stop.group(1)) > drain, f"TimeoutStopSec {stop.group(1)} s must exceed the drain timeout {drain} s")
    for key in ("EnvironmentFile=-/etc/pangu-serve/pangu-serve.env", "KillSignal=SIGTERM", "User=pangu",
                "Restart=on-failure", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "NoNewPrivileges=true"):
        check(key in unit, f"pangu-serve.service: expected {key}")


# ---- Kubernetes ----

INFERENCE_POOL_V1 = {  # subset of inference.networking.k8s.io/v1 InferencePool
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "inference.networking.k8s.io/v1"},
        "spec": {
            "type": "object",
            "required": ["selector", "targetPorts", "endpointPickerRef"],
            "additionalProperties": False,
            "properties": {
                "selector": {"type": "object", "required": ["matchLabels"], "additionalProperties": False,
                             "properties": {"matchLabels": {"type": "object", "minProperties": 1,
                                                            "additionalProperties": {"type": "string"}}}},
                "targetPorts": {"type": "array", "minItems": 1, "maxItems": 8, "items": {
                    "type": "object", "required": ["number"], "additionalProperties": False,
                    "properties": {"number": {"type": "integer", "minimum": 1, "maximum": 65535}}}},
                "appProtocol": {"enum": ["http", "kubernetes.io/h2c"]},
                "endpointPickerRef": {
                    "type": "object", "required": ["name"], "additionalProperties": False,
                    "properties": {
                        "group": {"type": "string"}, "kind": {"type": "string"},
                        "name": {"type": "string", "minLength": 1, "maxLength": 253},
                        "port": {"type": "object", "required": ["number"], "additionalProperties": False,
                                 "properties": {"number": {"type": "integer", "minimum": 1, "maximum": 65535}}},
                        "failureMode": {"enum": ["FailOpen", "FailClose"]},
                    },
                },
            },
        },
    },
}

HTTP_ROUTE_V1 = {  # subset of gateway.networking.k8s.io/v1 HTTPRoute
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
        "spec": {
            "type": "object", "required": ["parentRefs", "rules"],
            "properties": {
                "parentRefs": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["name"]}},
                "rules": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "properties": {
                        "matches": {"type": "array", "items": {"type": "object", "properties": {
                            "path": {"type": "object", "properties": {
                                "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                                "value": {"type": "string", "pattern": "^/"}}}}}},
                        "backendRefs": {"type": "array", "items": {
                            "type": "object", "required": ["name"],
                            "properties": {"group": {"type": "string"}, "kind": {"type": "string"},
                                           "name": {"type": "string"}, "port": {"type": "integer"}}}},
                        "timeouts": {"type": "object", "properties": {
                            "request": {"type": "string", "pattern": r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"},
                            "backendRequest": {"type": "string"}}},
                    },
                }},
            },
        },
    },
}


def load(rendered, name):
    return [d for d in yaml.safe_load_all((rendered / f"{name}.yaml").read_text()) if d]


def one(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    check(len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0] if found else {}


def arg_value(args, flag):
    for i, arg in enumerate(args):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
    return None


def check_model_server(docs, variant):
    config_map = one(docs, "ConfigMap")
    deployment = one(docs, "Deployment")
    config = json.loads(config_map["data"]["pangu-serve.json"])
    for key in config:
        check(key in OPTIONS, f"{variant} ConfigMap: {key} is not a config key")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = container["args"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    config_path = arg_value(args, "--config") or ""
    volume = next((v for v in pod["volumes"] if v.get("configMap", {}).get("name") == config_map["metadata"]["name"]), None)
    if check(volume, f"{variant}: the config ConfigMap is not mounted"):
        check(config_path == f"{mounts.get(volume['name'])}/pangu-serve.json",
              f"{variant}: --config {config_path} is not the mounted ConfigMap file")
    port = container["ports"][0]["containerPort"]
    check(port == config.get("port", 8000), f"{variant}: containerPort {port} != config port")
    check(container["livenessProbe"]["httpGet"]["path"] == "/health", f"{variant}: liveness must probe /health")
    check(container["startupProbe"]["httpGet"]["path"] == "/health", f"{variant}: startup must probe /health")
    check(container["readinessProbe"]["httpGet"]["path"] == "/ready", f"{variant}: readiness must probe /ready")
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = config.get("drainTimeout", 30)
    grace = pod["terminationGracePeriodSeconds"]
    check(grace >= pre_stop + drain + 5,
          f"{variant}: terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain {drain} + 5")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    check(selector.items() <= labels.items(), f"{variant}: Deployment selector does not match its pods")
    service = one(docs, "Service")
    check(service["spec"]["selector"].items() <= labels.items(), f"{variant}: Service selector misses the pods")
    hpa = one(docs, "HorizontalPodAutoscaler")
    check(hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"], f"{variant}: HPA target")
    return deployment, labels, port, args


def check_hpa_adapter(base, adapter_docs):
    hpa = one(base, "HorizontalPodAutoscaler")
    rules = yaml.safe_load(one(adapter_docs, "ConfigMap")["data"]["config.yaml"])["rules"]
    served = set()
    for rule in rules:
        series = re.match(r"\s*([\w:]+)", rule["seriesQuery"]).group(1)
        check(series in METRICS, f"adapter rule: {series} is not exported")
        served.add(re.sub(rule["name"]["matches"], rule["name"]["as"].replace("${1}", r"\1"), series))
    for metric in hpa["spec"]["metrics"]:
        name = metric["pods"]["metric"]["name"]
        check(":" not in name, f"HPA metric {name} contains ':' (not allowed in the custom metrics API)")
        check(name in served, f"HPA metric {name} is not served by the adapter rules ({sorted(served)})")


def check_inference_gateway(docs, pod_labels, port):
    pool = one(docs, "InferencePool")
    route = one(docs, "HTTPRoute")
    for obj, schema in ((pool, INFERENCE_POOL_V1), (route, HTTP_ROUTE_V1)):
        try:
            jsonschema.validate(obj, schema)
        except jsonschema.ValidationError as error:
            errors.append(f"{obj['kind']}: {error.message} at {list(error.absolute_path)}")
    spec = pool["spec"]
    check(spec["selector"]["matchLabels"].items() <= pod_labels.items(), "InferencePool selector misses the pods")
    check(spec["targetPorts"][0]["number"] == port, "InferencePool targetPort != containerPort")
    picker = spec["endpointPickerRef"]
    service = one(docs, "Service", picker["name"])
    check(picker.get("port", {}).get("number", 9002) in [p["port"] for p in service["spec"]["ports"]],
          "endpointPickerRef port is not a port of the picker Service")
    epp = one(docs, "Deployment")
    args = epp["spec"]["template"]["spec"]["containers"][0]["args"]
    check(arg_value(args, "--pool-name") == pool["metadata"]["name"], "EPP --pool-name != InferencePool name")
    for flag, expected in (("--total-queued-requests-metric", "pangu:num_requests_waiting"),
                           ("--kv-cache-usage-percentage-metric", "pangu:kv_cache_usage_perc")):
        check(arg_value(args, flag) == expected, f"EPP {flag} must be {expected}")
    for arg in args:
        check_metric_refs("EPP args", arg)
    backends = [b for rule in route["spec"]["rules"] for b in rule.get("backendRefs", [])]
    check(any(b.get("kind") == "InferencePool" and b.get("group") == "inference.networking.k8s.io"
              and b["name"] == pool["metadata"]["name"] for b in backends), "HTTPRoute does not route to the pool")


def check_kubernetes(rendered):
    base = load(rendered, "base")
    npu = load(rendered, "overlays-npu-sim")
    _, labels, port, _ = check_model_server(base, "base")
    _, npu_labels, _, npu_args = check_model_server(npu, "npu-sim")
    check(arg_value(npu_args, "--devices") == "npu:910B2", "npu-sim overlay must pass --devices npu:910B2")
    check(labels.get("pangu.dev/devices") != npu_labels.get("pangu.dev/devices"),
          "base and npu-sim pods must differ in pangu.dev/devices")
    check_hpa_adapter(base, load(rendered, "prometheus-adapter"))
    check_inference_gateway(load(rendered, "inference-gateway"), labels, port)


# ---- Prometheus and Grafana ----

def check_prometheus():
    for name in ("rules.yml", "rules_test.yml", "prometheus.yml"):
        check_metric_refs(name, (DEPLOY / "prometheus" / name).read_text())
    rules = yaml.safe_load((DEPLOY / "prometheus/rules.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    for needed in ("PanguServeDown", "PanguServeNotReady", "PanguServeQueueGrowing", "PanguServeKVCacheNearFull",
                   "PanguServeTTFTHigh"):
        check(needed in alerts, f"rules.yml: alert {needed} missing")


def check_dashboard():
    path = DEPLOY / "grafana/pangu-serve-dashboard.json"
    try:
        dashboard = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        errors.append(f"dashboard: invalid JSON: {error}")
        return
    for key in ("title", "uid", "panels", "schemaVersion", "templating"):
        check(key in dashboard, f"dashboard: missing {key}")
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    ids = [p["id"] for p in dashboard["panels"]]
    check(len(ids) == len(set(ids)), "dashboard: panel ids are not unique")
    exprs = []
    for panel in dashboard["panels"]:
        grid = panel.get("gridPos", {})
        check({"h", "w", "x", "y"} <= grid.keys() and grid.get("x", 0) + grid.get("w", 0) <= 24,
              f"dashboard: panel {panel.get('title')} has a bad gridPos")
        if panel["type"] == "row":
            continue
        check(panel.get("targets"), f"dashboard: panel {panel.get('title')} has no queries")
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            exprs.append(expr)
            check_metric_refs(f"dashboard panel {panel['title']}", expr)
            for variable in re.findall(r"\$(\w+)", expr):
                check(variable in variables or variable.startswith("__"), f"dashboard: ${variable} is not defined")
            if "histogram_quantile" in expr:
                check("_bucket" in expr and "le" in expr, f"dashboard panel {panel['title']}: quantile needs _bucket by le")
    joined = "\n".join(exprs)
    for needed in ("pangu:num_requests_waiting", "pangu:kv_cache_usage_perc", "time_to_first_token_seconds_bucket",
                   "inter_token_latency_seconds_bucket", "e2e_request_latency_seconds_bucket",
                   "generation_tokens_total", "pangu:device_"):
        check(needed in joined, f"dashboard: no panel uses {needed}")


# ---- OpenAPI ----

def check_openapi():
    spec = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    check(spec["openapi"].startswith("3.1"), "openapi.yaml must be OpenAPI 3.1")
    for method, path in sorted(source_routes()):
        operation = spec["paths"].get(path, {}).get(method)
        if check(operation, f"openapi.yaml: {method.upper()} {path} is not described"):
            check(any(code.startswith("2") for code in operation["responses"]),
                  f"openapi.yaml: {method.upper()} {path} has no 2xx response")
    for path, item in spec["paths"].items():
        for method in item:
            check((method, path) in source_routes(), f"openapi.yaml: {method.upper()} {path} is not a route")
    for name in ("/v1/completions", "/v1/chat/completions"):
        check("text/event-stream" in spec["paths"][name]["post"]["responses"]["200"]["content"],
              f"openapi.yaml: {name} lacks the text/event-stream response")


def main():
    rendered = Path(sys.argv[1])
    check_systemd()
    check_kubernetes(rendered)
    check_prometheus()
    check_dashboard()
    check_openapi()
    if errors:
        for error in errors:
            print(f"consistency FAILED: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"consistency ok: {len(OPTIONS)} options, {len(METRICS)} metric series, "
          f"{len(source_routes())} routes cross-checked")


if __name__ == "__main__":
    main()
