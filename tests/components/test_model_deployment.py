"""The ModelDeployment component under Pulumi's mocks: the resource graph and what each child gets."""

from __future__ import annotations

import json

import pulumi
import pytest
from pydantic import SecretStr

from components.contract.spec import MonitoringConfig
from components.manifests import deployment, objects, pod_autoscaler, pvc, service, service_monitor
from components.model_deployment import TYPE, ModelDeployment
from harness import pulumi_mocks
from harness.factories import valid_entry

pytestmark = pytest.mark.mocks
NS = "jan-models"
TOKEN = "hf_" + "Z9y8X7w6V5" * 4
MONITORING = MonitoringConfig(service_monitor_labels={"release": "kps"})


model = valid_entry  # the entry with these overrides, validated


def declare(m, service_monitor_enabled=True, rendering=False):
    monitor, _ = pulumi_mocks.install()
    result = {}

    @pulumi.runtime.test
    def run():
        context = objects.Context(NS, MONITORING, service_monitor_enabled=service_monitor_enabled)
        component = ModelDeployment(m, context=context, rendering=rendering)
        return component.status.apply(lambda status: result.update(component.report(status)))

    run()
    return monitor, result


def test_every_child_is_parented_to_the_component_and_named_from_the_model():
    monitor, _ = declare(model(**{"deployment_config.hugging_face_token": TOKEN}))

    component = monitor.one(TYPE)
    assert component.name == "qwen3-coder-30b"
    children = {(r.type, r.name) for r in monitor.registered if r is not component}
    assert children == {
        ("kubernetes:core/v1:Secret", "qwen3-coder-30b-hf-token"),
        ("kubernetes:core/v1:PersistentVolumeClaim", "qwen3-coder-30b-hf-cache"),
        ("kubernetes:apps/v1:Deployment", "qwen3-coder-30b-deployment"),
        ("kubernetes:core/v1:Service", "qwen3-coder-30b-service"),
        ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "qwen3-coder-30b-servicemonitor"),
        ("kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler", "qwen3-coder-30b-podautoscaler"),
    }
    assert all(r.parent == component.urn for r in monitor.registered if r is not component)


@pytest.mark.parametrize(
    ("overrides", "monitor_enabled", "absent"),
    [
        ({}, True, "kubernetes:core/v1:Secret"),
        ({"deployment_config.enable_pvc": False}, True, "kubernetes:core/v1:PersistentVolumeClaim"),
        ({"deployment_config.enable_autoscaling": False}, True, "kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler"),
        ({}, False, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"),
    ],
)
def test_children_disappear_when_their_feature_is_off(overrides, monitor_enabled, absent):
    monitor, _ = declare(model(**overrides), service_monitor_enabled=monitor_enabled)
    everything = {
        TYPE,
        "kubernetes:core/v1:Secret",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:Service",
        "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
        "kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler",
    }
    assert sorted(r.type for r in monitor.registered) == sorted(everything - {absent, "kubernetes:core/v1:Secret"})


def test_children_receive_exactly_what_the_builders_make():
    m = model()
    monitor, _ = declare(m)

    for type_, manifest in [
        ("kubernetes:apps/v1:Deployment", deployment.build(m, NS)),
        ("kubernetes:core/v1:Service", service.build(m, NS)),
        ("kubernetes:core/v1:PersistentVolumeClaim", pvc.build(m, NS)),
        ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", service_monitor.build(m, NS, MONITORING)),
        ("kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler", pod_autoscaler.build(m, NS)),
    ]:
        inputs = monitor.one(type_).inputs
        assert inputs["metadata"] == manifest["metadata"], type_
        assert inputs["spec"] == manifest["spec"], type_
        assert inputs["apiVersion"] == manifest["apiVersion"] and inputs["kind"] == manifest["kind"]


def test_token_is_a_secret_and_appears_nowhere_else():
    monitor, details = declare(model(**{"deployment_config.hugging_face_token": TOKEN}))

    secret = monitor.one("kubernetes:core/v1:Secret")
    string_data = secret.wire["stringData"]
    assert string_data[pulumi_mocks.SIG_KEY] == pulumi_mocks.SECRET_SIG
    assert string_data["value"] == {"token": TOKEN}
    others = [r for r in monitor.registered if r is not secret]
    assert TOKEN not in json.dumps([r.wire for r in others]) + json.dumps(details)
    env = monitor.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e} == {
        "HF_TOKEN": "qwen3-coder-30b-hf-token",
        "HUGGING_FACE_HUB_TOKEN": "qwen3-coder-30b-hf-token",
    }
    assert secret.urn in monitor.one("kubernetes:apps/v1:Deployment").dependencies


SECRET_ENV = [{"name": "WANDB_API_KEY", "value": SecretStr("wandb-secret-value")}, {"name": "PLAIN", "value": "shown"}]


def test_secret_env_values_go_to_their_own_secret_and_nowhere_else():
    monitor, details = declare(model(**{"deployment_config.extra_env": SECRET_ENV}))

    (secret,) = [r for r in monitor.of_type("kubernetes:core/v1:Secret") if r.name == "qwen3-coder-30b-env"]
    assert secret.wire["stringData"][pulumi_mocks.SIG_KEY] == pulumi_mocks.SECRET_SIG
    assert secret.wire["stringData"]["value"] == {"WANDB_API_KEY": "wandb-secret-value"}
    others = [r for r in monitor.registered if r is not secret]
    assert "wandb-secret-value" not in json.dumps([r.wire for r in others]) + json.dumps(details)
    dep = monitor.one("kubernetes:apps/v1:Deployment")
    env = dep.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": {"name": "qwen3-coder-30b-env", "key": "WANDB_API_KEY"}}} in env
    assert {"name": "PLAIN", "value": "shown"} in env
    assert secret.urn in dep.dependencies


def test_rendered_secrets_are_declared_without_their_values():
    m = model(**{"deployment_config.extra_env": SECRET_ENV, "deployment_config.hugging_face_token": TOKEN})
    monitor, _ = declare(m, rendering=True)

    secrets = monitor.of_type("kubernetes:core/v1:Secret")
    assert sorted(s.name for s in secrets) == ["qwen3-coder-30b-env", "qwen3-coder-30b-hf-token"]
    assert all("stringData" not in s.inputs and "data" not in s.inputs for s in secrets)
    everything = json.dumps([r.wire for r in monitor.registered])
    assert TOKEN not in everything and "wandb-secret-value" not in everything


def test_cache_is_kept_when_the_model_is_removed_unless_the_entry_says_so():
    monitor, _ = declare(model())
    assert monitor.one("kubernetes:core/v1:PersistentVolumeClaim").retain_on_delete is True
    monitor, _ = declare(model(**{"deployment_config.retain_cache_on_delete": False}))
    assert monitor.one("kubernetes:core/v1:PersistentVolumeClaim").retain_on_delete is False


def test_deployment_await_timeout_fits_the_whole_rollout():
    overrides = {"deployment_config.startup_timeout_seconds": 1200, "deployment_config.autoscaling_config.max_replicas": 3}
    monitor, _ = declare(model(**overrides))
    timeouts = monitor.one("kubernetes:apps/v1:Deployment").custom_timeouts
    assert timeouts == {"create": "4500s", "update": "4500s"}  # 3 pods x (1200 s + 300 s)


def test_autoscaler_waits_for_its_deployment():
    monitor, _ = declare(model())
    assert (
        monitor.one("kubernetes:apps/v1:Deployment").urn
        in monitor.one("kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler").dependencies
    )


def test_details_carry_the_apis_model_fields():
    _, details = declare(model())
    assert details == {
        "public_id": details["public_id"],
        "name": "qwen3-coder-30b",
        "display_name": "Qwen3 Coder 30B",
        "description": "Qwen3 Coder model for code completion",
        "model_type": "completion",
        "huggingface_id": "Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8",
        "served_model_name": "qwen3-coder-30b",
        "namespace": "jan-models",
        "deployment_name": "qwen3-coder-30b",
        "service_name": "qwen3-coder-30b",
        "endpoint_url": "http://qwen3-coder-30b.jan-models.svc.cluster.local:8000",
        "requirements": {"cpu": "2000m", "memory": "16Gi", "gpu": {"min_vram": "24Gi", "min_gpus": 1, "max_gpus": 1}},
        "gpu_count": 1,
        "autoscaling": {
            "min_replicas": 1,
            "max_replicas": 8,
            "target_metric": "num_requests_running",
            "target_value": "40",
            "scale_down_delay": "3m",
            "scaling_strategy": "KPA",
        },
        "cache_pvc": "qwen3-coder-30b-hf-cache",
        "tags": ["coding", "completion"],
        "is_public": False,
        # The mocks answer with the inputs, as the engine does while previewing: no status read yet.
        "status_as_of": "the Deployment as the engine last read it (at its last update); `python -m components models --all` reads the cluster",
        "status": "pending",
    }
    assert details["public_id"].startswith("mdl_") and len(details["public_id"]) == 20
    _, again = declare(model())
    assert again["public_id"] == details["public_id"]
