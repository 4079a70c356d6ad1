"""The pure builders: every field this project specifies, and validity against real schemas."""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest
from pydantic import SecretStr

from components.contract.problems import ProblemsFound
from components.contract.spec import ModelEntry, MonitoringConfig
from components.manifests import deployment, labels, objects, pod_autoscaler, pvc, secret, service, service_monitor
from harness.factories import valid_entry
from tests import schemas

pytestmark = pytest.mark.unit
NS = "jan-models"


model = valid_entry  # the entry with these overrides, validated


def container(manifest: dict) -> dict:
    (c,) = manifest["spec"]["template"]["spec"]["containers"]
    return c


EXPECTED_LABELS = {
    "model.aibrix.ai/name": "qwen3-coder-30b",
    "model.aibrix.ai/port": "8000",
    "model.aibrix.ai/engine": "vllm",
    "jan-server.menlo.ai/managed": "true",
    "app.kubernetes.io/name": "qwen3-coder-30b",
    "app.kubernetes.io/instance": "qwen3-coder-30b",
    "app.kubernetes.io/component": "inference-server",
    "app.kubernetes.io/part-of": "model-fleet",
    "app.kubernetes.io/managed-by": "pulumi",
}


def built_in_manifests(m: ModelEntry) -> list[dict]:
    return [
        deployment.build(m, NS),
        service.build(m, NS),
        pvc.build(m, NS),
        secret.build(m, NS, "placeholder"),
        secret.build_env(m, NS, {"KEY": "placeholder"}),
    ]


def custom_resources(m: ModelEntry) -> list[dict]:
    return [
        service_monitor.build(m, NS, MonitoringConfig(service_monitor_labels={"release": "kps"})),
        pod_autoscaler.build(m, NS),
    ]


def all_manifests(m: ModelEntry) -> list[dict]:
    return built_in_manifests(m) + custom_resources(m)


def test_every_object_is_labelled_and_namespaced():
    for manifest in all_manifests(model()):
        assert manifest["metadata"]["namespace"] == NS
        assert EXPECTED_LABELS.items() <= manifest["metadata"]["labels"].items(), manifest["kind"]


REPRESENTATIVE = [
    {},
    {"deployment_config.enable_pvc": False, "deployment_config.enable_autoscaling": False, "deployment_config.gpu_count": 1},
    {
        "deployment_config.hugging_face_token": "secret",
        "deployment_config.storage_class": "fast-rwx",
        "deployment_config.pvc_access_mode": "ReadWriteMany",
        "deployment_config.node_selector": {"pool": "gpu"},
        "deployment_config.extra_env": [{"name": "KEY", "value": SecretStr("s")}],
        "deployment_config.tolerations": [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoSchedule"}],
    },
]


@pytest.mark.parametrize("overrides", REPRESENTATIVE)
def test_built_in_objects_validate_against_the_kubernetes_openapi_schema(overrides):
    for manifest in built_in_manifests(model(**overrides)):
        schemas.validate(manifest)


@pytest.mark.parametrize("overrides", REPRESENTATIVE)
def test_custom_resources_validate_against_the_shared_crds(overrides):
    for manifest in custom_resources(model(**overrides)):
        schemas.validate(manifest)


def test_schema_check_catches_mistakes_in_built_in_objects():
    broken = deployment.build(model(), NS)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        schemas.validate(broken)


def test_schema_check_catches_mistakes_in_custom_resources():
    autoscaler = pod_autoscaler.build(model(), NS)
    autoscaler["spec"]["metricsSources"][0]["port"] = 8000
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate(autoscaler)
    autoscaler = pod_autoscaler.build(model(), NS)
    autoscaler["spec"]["scalingStrategy"] = "Fast"
    with pytest.raises(jsonschema.ValidationError):
        schemas.validate(autoscaler)


def test_deployment_runs_the_entrys_vllm_container():
    manifest = deployment.build(model(), NS)
    c = container(manifest)
    assert manifest["metadata"]["name"] == "qwen3-coder-30b"
    assert c["image"] == "registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.2"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert c["command"] == ["sh"]
    assert c["args"][0] == "-c" and "--served-model-name qwen3-coder-30b" in c["args"][1]
    assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert c["env"] == [{"name": "CUDA_VISIBLE_DEVICES", "value": "0"}]
    assert manifest["spec"]["selector"]["matchLabels"] == {"model.aibrix.ai/name": "qwen3-coder-30b", "jan-server.menlo.ai/managed": "true"}
    assert manifest["spec"]["selector"]["matchLabels"].items() <= manifest["spec"]["template"]["metadata"]["labels"].items()


def test_resources_come_from_requirements_and_gpu_count():
    c = container(deployment.build(model(**{"requirements.gpu.max_gpus": 2, "deployment_config.gpu_count": 2}), NS))
    # Limits default to the requests (the Guaranteed QoS class); a GPU's request equals its limit.
    assert c["resources"] == {
        "requests": {"cpu": "2000m", "memory": "16Gi", "nvidia.com/gpu": "2"},
        "limits": {"cpu": "2000m", "memory": "16Gi", "nvidia.com/gpu": "2"},
    }
    no_gpu = container(deployment.build(model(**{"requirements.gpu": None, "deployment_config.gpu_count": 0}), NS))
    assert no_gpu["resources"] == {"requests": {"cpu": "2000m", "memory": "16Gi"}, "limits": {"cpu": "2000m", "memory": "16Gi"}}
    bursting = container(deployment.build(model(**{"requirements.cpu_limit": "4", "requirements.memory_limit": "20Gi"}), NS))
    assert bursting["resources"]["limits"] == {"cpu": "4", "memory": "20Gi", "nvidia.com/gpu": "1"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cpu_limit", "1500m", "cpu_limit 1500m is less than the cpu request 2000m; Kubernetes refuses a limit below the request"),
        ("memory_limit", "8Gi", "memory_limit 8Gi is less than the memory request 16Gi; Kubernetes refuses a limit below the request"),
    ],
)
def test_a_limit_below_its_request_is_a_problem(field, value, message):
    with pytest.raises(ProblemsFound) as err:
        model(**{f"requirements.{field}": value})
    assert f"requirements: {message}" in err.value.report()


def test_team_labels_go_on_every_object_and_cannot_replace_the_programs_own():
    entry = model(labels={"team": "search"})
    for _, manifest in objects.model_objects(entry, objects.Context(NS, MonitoringConfig(), service_monitor_enabled=True)):
        assert manifest["metadata"]["labels"]["team"] == "search", manifest["kind"]
    with pytest.raises(ProblemsFound) as err:
        model(labels={"model.aibrix.ai/name": "other"})
    assert "'model.aibrix.ai/name' is a label model-fleet sets on every object of a model" in err.value.report()


def test_the_cache_claim_says_whether_it_outlives_the_model():
    kept = pvc.build(model(), NS)["metadata"]["annotations"]
    assert kept["jan-server.menlo.ai/retain-on-delete"] == "true"
    dropped = pvc.build(model(**{"deployment_config.retain_cache_on_delete": False}), NS)["metadata"]["annotations"]
    assert dropped["jan-server.menlo.ai/retain-on-delete"] == "false"


def test_probes_give_the_whole_startup_budget_before_a_restart():
    m = model(**{"deployment_config.initial_delay_seconds": 300, "deployment_config.startup_timeout_seconds": 2400})
    c = container(deployment.build(m, NS))
    startup = c["startupProbe"]
    assert startup["httpGet"] == {"path": "/health", "port": 8000, "scheme": "HTTP"}
    assert startup["initialDelaySeconds"] == 300
    # 300 s delay + 210 failures x 10 s = the 2400 s budget.
    assert startup["initialDelaySeconds"] + startup["failureThreshold"] * startup["periodSeconds"] == 2400
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["path"] == "/health" and "initialDelaySeconds" not in c[probe]


def test_progress_deadline_fits_one_pods_startup_budget():
    m = model(**{"deployment_config.startup_timeout_seconds": 3600})
    manifest = deployment.build(m, NS)
    assert manifest["spec"]["progressDeadlineSeconds"] == deployment.pod_start_seconds(m) == 3900


@pytest.mark.parametrize(
    ("overrides", "seconds"),
    [
        ({"deployment_config.enable_autoscaling": False, "deployment_config.replicas": 1}, 2100),
        ({"deployment_config.enable_autoscaling": False, "deployment_config.replicas": 3}, 3 * 2100),
        ({"deployment_config.enable_autoscaling": False, "deployment_config.replicas": 0}, 2100),
        ({"deployment_config.autoscaling_config.max_replicas": 2}, 2 * 2100),
        # Eight pods of 65 minutes each would be 8 h 40 min; the cap is 6 h.
        ({"deployment_config.startup_timeout_seconds": 3600}, 6 * 3600),
    ],
)
def test_rollout_wait_scales_with_the_pods_replaced_one_at_a_time_capped(overrides, seconds):
    assert deployment.rollout_seconds(model(**overrides)) == seconds


def test_update_strategy_never_needs_a_spare_gpu():
    strategy = deployment.build(model(), NS)["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}


def test_replicas_left_to_the_autoscaler():
    assert "replicas" not in deployment.build(model(), NS)["spec"]
    fixed = model(**{"deployment_config.enable_autoscaling": False, "deployment_config.replicas": 3})
    assert deployment.build(fixed, NS)["spec"]["replicas"] == 3


def test_shm_and_cache_volumes():
    manifest = deployment.build(model(**{"deployment_config.shm_size": "8Gi"}), NS)
    pod = manifest["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}},
        {"name": "hf-cache", "persistentVolumeClaim": {"claimName": "qwen3-coder-30b-hf-cache"}},
    ]
    assert container(manifest)["volumeMounts"] == [
        {"name": "dshm", "mountPath": "/dev/shm"},
        {"name": "hf-cache", "mountPath": "/root/.cache/huggingface"},
    ]
    without_pvc = deployment.build(model(**{"deployment_config.enable_pvc": False}), NS)
    assert [v["name"] for v in without_pvc["spec"]["template"]["spec"]["volumes"]] == ["dshm"]


def test_token_reaches_the_pod_only_through_the_secret():
    m = model(**{"deployment_config.hugging_face_token": "hf_plain_for_test"})
    manifest = deployment.build(m, NS)
    env = container(manifest)["env"]
    ref = {"secretKeyRef": {"name": "qwen3-coder-30b-hf-token", "key": "token"}}
    assert {"name": "HF_TOKEN", "valueFrom": ref} in env
    assert {"name": "HUGGING_FACE_HUB_TOKEN", "valueFrom": ref} in env
    assert "hf_plain_for_test" not in repr(manifest)
    assert secret.build(m, NS, "value")["stringData"] == {"token": "value"}
    assert secret.build(m, NS, "value")["metadata"]["name"] == labels.secret_name(m)


def test_secret_env_values_reach_the_pod_only_through_the_env_secret():
    env_vars = [{"name": "API_SECRET", "value": SecretStr("s3cr3t")}, {"name": "PLAIN", "value": "p"}]
    m = model(**{"deployment_config.extra_env": env_vars})
    manifest = deployment.build(m, NS)
    assert container(manifest)["env"] == [
        {"name": "API_SECRET", "valueFrom": {"secretKeyRef": {"name": "qwen3-coder-30b-env", "key": "API_SECRET"}}},
        {"name": "PLAIN", "value": "p"},
    ]
    assert "s3cr3t" not in repr(manifest)
    assert secret.build_env(m, NS, {"API_SECRET": "v"})["stringData"] == {"API_SECRET": "v"}
    assert "stringData" not in secret.build_env(m, NS, None)
    assert "stringData" not in secret.build(m, NS, None)


def test_gpu_pods_tolerate_the_gpu_taint_and_honour_scheduling_settings():
    m = model(**{"deployment_config.node_selector": {"pool": "gpu"}})
    pod = deployment.build(m, NS)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "gpu"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    cpu_only = model(**{"requirements.gpu": None, "deployment_config.gpu_count": 0})
    assert "tolerations" not in deployment.build(cpu_only, NS)["spec"]["template"]["spec"]


def test_service():
    manifest = service.build(model(), NS)
    assert manifest["metadata"]["name"] == "qwen3-coder-30b"
    assert manifest["spec"] == {
        "type": "ClusterIP",
        "selector": {"model.aibrix.ai/name": "qwen3-coder-30b", "jan-server.menlo.ai/managed": "true"},
        "ports": [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}],
    }


def test_service_monitor_scrapes_metrics_on_the_http_port():
    manifest = service_monitor.build(model(), NS, MonitoringConfig(service_monitor_labels={"release": "kps"}, scrape_interval="15s"))
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["metadata"]["labels"]["release"] == "kps"
    assert manifest["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "15s"}]
    assert manifest["spec"]["selector"]["matchLabels"] == labels.selector(model())


def test_pod_autoscaler():
    manifest = pod_autoscaler.build(model(), NS)
    assert manifest["apiVersion"] == "autoscaling.aibrix.ai/v1alpha1"
    assert manifest["metadata"]["annotations"] == {
        "autoscaling.aibrix.ai/scale-down-cooldown-window": "3m",
        "kpa.autoscaling.aibrix.ai/scale-down-delay": "3m",
    }
    assert manifest["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "qwen3-coder-30b"},
        "minReplicas": 1,
        "maxReplicas": 8,
        "scalingStrategy": "KPA",
        "metricsSources": [
            {
                "metricSourceType": "pod",
                "protocolType": "http",
                "port": "8000",
                "path": "/metrics",
                "targetMetric": "num_requests_running",
                "targetValue": "40",
            }
        ],
    }


def test_pvc_uses_storage_class_size_and_access_mode():
    default = pvc.build(model(), NS)
    assert default["metadata"]["name"] == "qwen3-coder-30b-hf-cache"
    assert default["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}}
    custom = pvc.build(
        model(
            **{
                "deployment_config.storage_class": "fast",
                "deployment_config.pvc_size": "300Gi",
                "deployment_config.pvc_access_mode": "ReadWriteMany",
            }
        ),
        NS,
    )
    assert custom["spec"] == {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "300Gi"}}, "storageClassName": "fast"}
