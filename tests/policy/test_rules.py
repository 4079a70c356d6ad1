"""The policy pack's rules as pure functions: each refuses what it names with its message, and
passes what the builders make."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from components.contract import config
from components.manifests import namespace, objects
from harness.factories import INVENTORY, entry, pooled_stack, stack
from policy import pack, rules

pytestmark = pytest.mark.unit
CONFIG_DIR = Path(__file__).resolve().parents[2] / "policy" / "config"
NS = "jan-models"
PARENT = f"urn:pulumi:dev::model-fleet::{rules.COMPONENT_TYPE}::m"


def token(manifest: dict) -> str:
    """The type token the kubernetes provider gives a manifest's kind (`kubernetes:apps/v1:Deployment`)."""
    group, _, version = manifest["apiVersion"].rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{manifest['kind']}"


def resources_of(*entries: dict, raw: dict | None = None, **sections) -> list[rules.Resource]:
    """Every object of every version the stack declares, as the engine passes it to the pack."""
    spec = config.load(raw or stack(*entries, **sections), source="t").spec
    found = []
    for model, routing in objects.versions(spec):
        for name, manifest in objects.model_objects(model, objects.Context.of(spec, service_monitor_enabled=True), routing=routing):
            parent = f"urn:pulumi:dev::model-fleet::{rules.COMPONENT_TYPE}::{model.name}"
            found.append(rules.Resource(token(manifest), name, manifest, parent=parent))
    return found


def messages(rule: str, resources: list[rules.Resource], settings: dict | None = None) -> list[str]:
    return [v.message for v in rules.BY_NAME[rule].run(resources, settings)]


@pytest.mark.parametrize("rule", [r.name for r in rules.RULES])
def test_what_the_builders_make_passes_every_rule_turned_on(rule):
    settings = {"requiredLabels": ["team"]} if rule == "managed-labels" else {}
    found = resources_of(entry(labels={"team": "search"}, **{"deployment_config.autoscaling_config.min_replicas": 2}))
    assert messages(rule, found, settings) == []


@pytest.mark.parametrize("rule", [r.name for r in rules.RULES])
def test_a_fleet_routed_by_inference_pool_with_a_canary_passes_every_rule_turned_on(rule):
    canary = {"version": "v2", "weight": 10, "image": "vllm/vllm-openai:v0.10.3"}
    # Both versions at two replicas would not fit the inventory's three GPUs.
    settings = {"managed-labels": {"requiredLabels": ["team"]}, "autoscaled-replicas": {"minReplicas": 1}}.get(rule, {})
    raw = pooled_stack(entry(labels={"team": "search"}, canary=canary))
    found = resources_of(raw=raw)
    assert {"InferencePool", "HTTPRoute"} <= {r.kind for r in found}
    assert sum(r.type == rules.DEPLOYMENT for r in found) == 2
    assert messages(rule, found, settings) == []


@pytest.mark.parametrize("rule", [r.name for r in rules.RULES])
def test_each_rules_example_breaks_it_and_names_the_model(rule):
    resources, settings = rules.BY_NAME[rule].example()
    found = rules.BY_NAME[rule].run(resources, settings)
    assert len(found) == 1
    if rules.BY_NAME[rule].name != "gpu-budget":  # the whole fleet's: it names every model instead
        assert found[0].model and found[0].message.startswith(f"{found[0].model}: ")


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag", "digest"),
    [
        ("vllm/vllm-openai:v0.10.2", "docker.io", "vllm/vllm-openai", "v0.10.2", None),
        ("nginx", "docker.io", "library/nginx", None, None),
        ("registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.2", "registry.menlo.ai", "dockerhub/vllm/vllm-openai", "v0.10.2", None),
        ("localhost:5000/vllm:dev", "localhost:5000", "vllm", "dev", None),
        ("ghcr.io/a/b@sha256:abc", "ghcr.io", "a/b", None, "sha256:abc"),
        ("ghcr.io/a/b:v1@sha256:abc", "ghcr.io", "a/b", "v1", "sha256:abc"),
    ],
)
def test_image_references_are_read_as_a_runtime_reads_them(image, registry, repository, tag, digest):
    assert rules.parse_image(image) == rules.ImageReference(registry, repository, tag, digest)


def test_images_come_from_allowed_registries_with_a_pinned_tag():
    def image(value: str, **settings) -> list[str]:
        return messages("image-source", resources_of(entry(**{"deployment_config.image": value})), settings)

    assert image("vllm/vllm-openai:v0.10.2") == []
    assert image("registry.menlo.ai/dockerhub/vllm/vllm-openai:v0.10.2") == []
    # A prefix counts only at a path boundary.
    assert image("docker.io/vllmx/vllm-openai:v1") == [
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: image `docker.io/vllmx/vllm-openai:v1` is not from an allowed "
        "registry (`docker.io/vllm`, `registry.menlo.ai`); pull it through one of them"
    ]
    assert image("vllm/vllm-openai") == [
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: image `vllm/vllm-openai` has no tag, so it means `latest`, "
        "which moves under a running model; pin a release tag, e.g. `:v0.10.2`"
    ]
    assert len(image("vllm/vllm-openai:latest")) == 1
    assert image("vllm/vllm-openai:v0.10.2", requireDigest=True) == [
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: image `vllm/vllm-openai:v0.10.2` is not pinned by digest, which "
        "this environment requires; write it as `vllm/vllm-openai:v0.10.2@sha256:<digest>`"
    ]
    assert image("vllm/vllm-openai:v0.10.2@sha256:" + "0" * 64, requireDigest=True) == []
    assert image("vllm/vllm-openai@sha256:" + "0" * 64, requireDigest=True) == []


def test_gpus_count_each_model_at_its_most_replicas():
    big = entry(
        "big", **{"requirements.gpu.max_gpus": 2, "deployment_config.gpu_count": 2, "deployment_config.autoscaling_config.max_replicas": 5}
    )
    fixed = entry("fixed", **{"deployment_config.enable_autoscaling": False, "deployment_config.replicas": 3})
    nodes = [{"node_name": f"gpu-{i}", "gpu_count": 2, "gpu_type": "nvidia-a100", "total_vram": "160Gi"} for i in range(4)]
    found = resources_of(big, fixed, cluster={**INVENTORY, "total_nodes": 4, "gpu_nodes": nodes})
    assert messages("gpus-per-model", found, {"maxGpus": 8}) == [
        "big: Deployment big can take 10 GPUs (2 x 5 replicas at most), over the cap of 8 per model; lower deployment_config.gpu_count "
        "or the most replicas (autoscaling_config.max_replicas, or replicas)"
    ]
    assert messages("gpus-per-model", found, {"maxGpus": 10}) == []
    assert messages("gpu-budget", found, {"maxGpus": 12}) == [
        "the fleet can take 13 GPUs, over the budget of 12: big 10 (2 x 5 replicas at most), fixed 3 (1 x 3 replicas); lower the "
        "biggest models' most replicas or gpu_count, or remove a model"
    ]
    assert messages("gpu-budget", found, {"maxGpus": 13}) == []


def test_every_container_has_requests_and_limits_and_a_gpu_pod_requests_its_gpus():
    (deployment,) = [r for r in resources_of(entry()) if r.type == rules.DEPLOYMENT]
    container = deployment.props["spec"]["template"]["spec"]["containers"][0]
    del container["resources"]["limits"]["memory"]
    del container["resources"]["requests"]["nvidia.com/gpu"]
    assert messages("container-resources", [deployment]) == [
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: lacks `resources.limits.memory`; set requirements.cpu and "
        "requirements.memory (the limits default to them; requirements.cpu_limit and memory_limit set them apart)",
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: runs on GPU nodes but requests `nvidia.com/gpu` not at all "
        "(limit 1); set deployment_config.gpu_count, which requests and limits it alike",
    ]
    # A pod that tolerates the GPU taint but asks for no GPU would sit on a GPU node without one.
    del container["resources"]["limits"]["nvidia.com/gpu"]
    container["resources"]["limits"]["memory"] = "16Gi"
    assert messages("container-resources", [deployment]) == [
        "qwen3-coder-30b: Deployment qwen3-coder-30b, container vllm: runs on GPU nodes but requests `nvidia.com/gpu` not at all "
        "(limit none); set deployment_config.gpu_count, which requests and limits it alike"
    ]


def test_every_object_carries_the_managed_labels_and_the_team_labels_required():
    found = resources_of(entry(labels={"team": "search"}))
    assert messages("managed-labels", found, {"requiredLabels": ["team"]}) == []
    missing = messages("managed-labels", found, {"requiredLabels": ["team", "cost-centre"]})
    assert len(missing) == len(found)
    assert (
        "qwen3-coder-30b: Deployment qwen3-coder-30b: lacks the team label `cost-centre`; add it to the model entry's `labels`" in missing
    )
    stray = rules.Resource("kubernetes:core/v1:ConfigMap", "x", {"metadata": {"name": "x", "labels": {}}}, parent=PARENT)
    assert messages("managed-labels", [stray], {"requiredLabels": ["team"]}) == [
        'ConfigMap x: lacks `jan-server.menlo.ai/managed: "true"`, `model.aibrix.ai/name`, which model-fleet\'s builders set; declare '
        "the object through them; lacks the team label `team`; add it to the model entry's `labels`"
    ]
    # The namespace is no model's: it carries the managed label only.
    ns = namespace.build(NS)
    assert messages("managed-labels", [rules.Resource(token(ns), "namespace", ns)], {"requiredLabels": ["team"]}) == []


def test_no_secret_in_a_deployments_plain_env():
    (deployment,) = [r for r in resources_of(entry()) if r.type == rules.DEPLOYMENT]
    container = deployment.props["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        {"name": "GREETING", "value": "hf_" + "a" * 34},
        {"name": "HF_TOKEN", "value": "plain"},
        {"name": "DB_PASSWORD", "value": ""},
        {"name": "HUGGING_FACE_HUB_TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "token"}}},
        {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
    ]
    found = messages("plaintext-secrets", [deployment])
    assert [m.split(": ", 2)[2].split(" ", 2)[:2] for m in found] == [["env", "GREETING"], ["env", "HF_TOKEN"], ["env", "DB_PASSWORD"]]
    assert "a" * 34 not in "".join(found)
    # What the builders make of a secret token passes.
    assert messages("plaintext-secrets", resources_of(entry(**{"deployment_config.hugging_face_token": None}))) == []


def test_prod_rules_keep_two_replicas_and_the_cache_claims():
    one = resources_of(entry(**{"deployment_config.autoscaling_config.min_replicas": 1}))
    assert messages("autoscaled-replicas", one) == [
        "qwen3-coder-30b: PodAutoscaler qwen3-coder-30b: scales down to 1 replica, fewer than the 2 this environment keeps; set "
        "deployment_config.autoscaling_config.min_replicas to 2 or more"
    ]
    assert messages("autoscaled-replicas", one, {"minReplicas": 1}) == []
    dropped = resources_of(entry(**{"deployment_config.retain_cache_on_delete": False}))
    assert messages("cache-claims-retained", dropped) == [
        "qwen3-coder-30b: PersistentVolumeClaim qwen3-coder-30b-hf-cache: the cache claim is deleted with the model "
        "(`jan-server.menlo.ai/retain-on-delete: false`), and its downloaded weights with it; set deployment_config.retain_cache_on_delete to true"
    ]
    assert messages("cache-claims-retained", resources_of(entry())) == []


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.json")), ids=lambda p: p.name)
def test_each_environments_config_names_real_rules_and_settings(path):
    settings = json.loads(path.read_text())
    assert set(settings) == set(rules.BY_NAME), "every rule's level is written out"
    for name, value in settings.items():
        assert value["enforcementLevel"] in ("advisory", "mandatory", "disabled")
        rules.BY_NAME[name].settings.model_validate({k: v for k, v in value.items() if k != "enforcementLevel"})


def test_a_misspelt_setting_is_refused_by_the_rule_and_by_the_schema_the_engine_checks():
    with pytest.raises(ValidationError):
        rules.BY_NAME["image-source"].run([], {"allowedRegistry": ["x"]})
    schema = pack.config_schema(rules.ImageSettings)
    assert schema is not None and set(schema.properties) == {"allowedRegistries", "requireDigest"}
    assert schema.properties["requireDigest"] == {
        "default": False,
        "description": rules.ImageSettings.model_fields["requireDigest"].description,
        "type": "boolean",
    }
    assert pack.config_schema(rules.NoSettings) is None
