"""The Pulumi program (__main__.py) under Pulumi's mocks, on a copy of the project."""

from __future__ import annotations

import gc
import json
import shutil
from pathlib import Path

import pulumi
import pytest

from components import collector
from harness import pulumi_mocks
from harness.factories import catalog_entry, entry, pooled_stack, stack, write_project, write_stack
from harness.program import copy_project, engine_config, run_program

pytestmark = pytest.mark.mocks


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path)


def test_dev_stack_declares_every_model_and_writes_the_docs(project):
    monitor, logs, exports = run_program(project)

    # One provider, in render mode, with server-side apply whatever the environment says, no
    # kubeconfig (an empty one: unset, the SDK would take $KUBECONFIG, which 4.25 refuses here).
    [provider] = monitor.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["renderYamlToDirectory"] == str(project / ".pulumi-state/provider-render/dev")
    assert provider.inputs["namespace"] == "jan-models"
    assert provider.inputs["enableServerSideApply"] == "true"
    assert provider.inputs["kubeconfig"] == ""
    namespace = monitor.one("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "jan-models" and namespace.retain_on_delete
    claims = monitor.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert len(claims) == 2 and all(r.provider.startswith(provider.urn) for r in claims + [namespace])
    assert all(d.provider.startswith(provider.urn) for d in monitor.of_type("kubernetes:apps/v1:Deployment"))
    components = sorted(r.name for r in monitor.of_type("model-fleet:index:ModelDeployment"))
    assert components == ["bge-m3", "mistral-nemo-instruct-2407", "qwen3-coder-30b"]
    assert all(namespace.urn in r.dependencies for r in monitor.of_type("model-fleet:index:ModelDeployment"))
    assert len(monitor.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")) == 3
    assert [r.name for r in monitor.of_type("kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler")] == ["qwen3-coder-30b-podautoscaler"]

    assert sorted(exports["models"]) == ["bge-m3", "mistral-nemo-instruct-2407", "qwen3-coder-30b"]
    assert exports["models"]["mistral-nemo-instruct-2407"]["served_model_name"] == "mistralai/Mistral-Nemo-Instruct-2407"
    # Render mode applies nothing, so there is no status to read, and the output says so.
    assert {(m["status"], m["status_as_of"]) for m in exports["models"].values()} == {
        ("rendered", "render mode: manifests written, nothing applied")
    }
    assert exports["cluster_status"]["total_gpus"] == 3 and exports["cluster_status"]["aibrix_ok"] is True

    snippets = project / "docs/.snippets/code/get-started/start-building"
    assert (snippets / "real-time/real-time-mistral-nemo-instruct-2407.py").is_file()
    assert (project / "docs/get-started/start-building/batch.md").is_file()
    assert (project / "docs/get-started/models.md").is_file()
    assert (project / "docs/.snippets/text/get-started/rate-limit.md").is_file()
    # 12 snippets, 3 pages, the limits include of the dev stack's tier, the record
    assert "docs: 17 written, 0 deleted, 0 unchanged" in logs.messages(20)


def test_docs_written_by_the_program_match_the_docsgen_command(project):
    run_program(project)
    from docsgen.__main__ import main as docsgen

    assert docsgen(["--stack", "dev", "--project-dir", str(project), "--check"]) == 0


def test_invalid_config_stops_before_any_resource_or_file(project):
    raw = stack(entry(**{"deployment_config.autoscaling_config.min_replicas": 9}), entry("Bad_Name"))
    write_stack(project, raw)

    monitors: list = []
    with pytest.raises(pulumi.RunError) as caught:
        run_program(project, monitors=monitors)

    assert str(caught.value).splitlines() == [
        "Pulumi.dev.yaml: 2 problems found; nothing was changed",
        "  - models[0] (qwen3-coder-30b) deployment_config.autoscaling_config: min_replicas 9 is greater than max_replicas 8",
        "  - models[1] (Bad_Name) name: 'Bad_Name' cannot name a Service: it must be a DNS-1035 label: lowercase "
        "letters, digits and '-', starting with a letter and ending with a letter or digit, at most 63 characters",
    ]
    assert not (project / "docs").exists()
    assert monitors[0].registered == []


def test_plaintext_token_in_the_stack_file_stops_the_program(project):
    write_stack(project, stack(entry(**{"deployment_config.hugging_face_token": "hf_written_in_clear"})))
    with pytest.raises(pulumi.RunError, match=r"plaintext Hugging Face token in Pulumi.dev.yaml"):
        run_program(project)
    assert not (project / "docs").exists()


def test_unreadable_stack_file_is_a_report_not_a_traceback(project):
    values = engine_config(project)
    (project / "Pulumi.dev.yaml").write_text("config:\n  model-fleet:models: [\n")

    monitors: list = []
    with pytest.raises(
        pulumi.RunError, match=r"Pulumi.dev.yaml: 1 problem found; nothing was changed\n  - line \d+, column \d+: not valid YAML: "
    ):
        run_program(project, monitors=monitors, values=values)
    assert monitors[0].registered == []


def test_docs_conflict_stops_before_any_resource(project):
    write_stack(project, stack(entry()))
    hand_written = project / "docs/.snippets/code/get-started/start-building/real-time/real-time-qwen3-coder-30b.py"
    hand_written.parent.mkdir(parents=True)
    hand_written.write_text("# mine\n")

    monitors: list = []
    with pytest.raises(pulumi.RunError, match="exists but was not generated by model-fleet"):
        run_program(project, monitors=monitors)
    assert hand_written.read_text() == "# mine\n"
    assert monitors[0].registered == []


@pytest.mark.loopback  # the live preflight reads a Kubernetes API on 127.0.0.1
def test_a_stack_with_a_live_cluster_gets_a_provider_for_it(project, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    from tests.kube_api import FakeKubeAPI, node

    with FakeKubeAPI(
        [node("gpu", 2, "A100", "40960")], ["podautoscalers.autoscaling.aibrix.ai", "gatewayclasses.gateway.networking.k8s.io"]
    ) as api:
        api.kubeconfig(kubeconfig, context="prod")
        write_stack(project, stack(entry(), cluster=None, kubernetes={"kubeconfig": str(kubeconfig), "context": "prod"}))
        monitor, logs, exports = run_program(project, preview=False)

    provider = next(r for r in monitor.of_type("pulumi:providers:kubernetes") if r.name == "kubernetes")
    assert provider.inputs["kubeconfig"] == str(kubeconfig) and provider.inputs["context"] == "prod"
    assert "renderYamlToDirectory" not in provider.inputs
    assert exports["cluster_status"]["source"] == "live"
    assert monitor.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor") == []
    assert "servicemonitors.monitoring.coreos.com not installed: no ServiceMonitor declared" in logs.messages(30)


@pytest.mark.parametrize("render", [True, False])
def test_secrets_set_with_the_cli_reach_only_secrets_and_never_a_rendered_manifest(project, render):
    """The stack file as `pulumi config set --secret --path` leaves it; the engine hands over clear values."""
    secrets = {"hugging_face_token": "hf_" + "Q1w2E3r4T5" * 4, "wandb": "wandb-clear-value"}
    written = entry(
        **{
            "deployment_config.hugging_face_token": {"secure": "v1:token-ciphertext"},
            "deployment_config.extra_env": [{"name": "WANDB_API_KEY", "value": {"secure": "v1:wandb-ciphertext"}}],
        }
    )
    # Without render_yaml_to_directory the provider applies to the ambient cluster; the preflight uses the inventory.
    kubernetes = {"render_yaml_to_directory": "rendered/dev"} if render else {}
    write_stack(project, stack(written, kubernetes=kubernetes, docs={"enabled": False}))
    decrypted = json.loads(json.dumps(stack(written, kubernetes=kubernetes, docs={"enabled": False})))
    decrypted["models"][0]["deployment_config"]["hugging_face_token"] = secrets["hugging_face_token"]
    decrypted["models"][0]["deployment_config"]["extra_env"][0]["value"] = secrets["wandb"]

    monitor, logs, exports = run_program(project, values={f"model-fleet:{k}": json.dumps(v) for k, v in decrypted.items()})

    by_name = {r.name: r for r in monitor.of_type("kubernetes:core/v1:Secret")}
    assert sorted(by_name) == ["qwen3-coder-30b-env", "qwen3-coder-30b-hf-token"]
    if render:
        assert all("stringData" not in r.inputs for r in by_name.values())
    else:
        assert by_name["qwen3-coder-30b-env"].wire["stringData"]["value"] == {"WANDB_API_KEY": secrets["wandb"]}
        assert by_name["qwen3-coder-30b-env"].wire["stringData"][pulumi_mocks.SIG_KEY] == pulumi_mocks.SECRET_SIG
    rest = [r.wire for r in monitor.registered if r.name not in by_name]
    shown = json.dumps(rest) + json.dumps(exports, default=str) + "\n".join(logs.messages(0))
    for value in secrets.values():
        assert value not in shown


def test_render_mode_writes_the_manifests_on_every_run_whatever_the_state(project):
    """The files users apply are a function of the config: the same as the render command's,
    back after the directory is deleted, on preview and on update alike."""
    run_program(project)
    rendered = project / "rendered/dev"
    first = {p.name: p.read_bytes() for p in rendered.iterdir()}
    assert "deployment-jan-models-qwen3-coder-30b.yaml" in first and "namespace-jan-models.yaml" in first

    shutil.rmtree(project / "rendered")
    run_program(project, preview=False)
    assert {p.name: p.read_bytes() for p in rendered.iterdir()} == first

    shutil.rmtree(project / "rendered")
    from components.commands.cli import main as cli

    assert cli(["render", "--stack", "dev", "--project-dir", str(project)]) == 0
    assert {p.name: p.read_bytes() for p in rendered.iterdir()} == first


def test_a_tampered_record_of_rendered_files_stops_the_program_before_any_resource(project, tmp_path_factory):
    victim = tmp_path_factory.mktemp("victim") / "precious.yaml"
    victim.write_text("mine\n")
    (project / "rendered/dev").mkdir(parents=True)
    (project / "rendered/dev/.model-fleet-rendered.json").write_text(json.dumps({"files": [str(victim)]}))

    monitors: list = []
    with pytest.raises(pulumi.RunError) as caught:
        run_program(project, monitors=monitors)

    assert f"{str(victim)!r} is not a file name model-fleet writes; nothing was touched" in str(caught.value)
    assert victim.read_text() == "mine\n"
    assert monitors[0].registered == []


def test_a_stack_mixing_full_entries_and_catalog_items_declares_each(project):
    write_project(project, {"qwen3-coder-30b": catalog_entry()})
    renamed_args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name qwen-small"]
    # qwen-small runs on CPU (gpu removed with null), so the fleet fits the inventory's 3 GPUs.
    items = [
        entry("full-model", **{"deployment_config.enable_autoscaling": False}),
        {"catalog": "qwen3-coder-30b", "deployment_config": {"autoscaling_config": {"min_replicas": 2}}},
        {
            "catalog": "qwen3-coder-30b",
            "name": "qwen-small",
            "display_name": "Qwen small",
            "description": None,
            "requirements": {"gpu": None},
            "deployment_config": {"args": renamed_args, "enable_autoscaling": False, "gpu_count": 0, "replicas": 3},
        },
    ]
    write_stack(project, stack(*items, docs={"enabled": False}))

    # An update, not a preview: a live stack's status outputs are unknown while previewing, as
    # under the real engine.
    monitor, _, exports = run_program(project, preview=False)

    assert sorted(r.name for r in monitor.of_type("model-fleet:index:ModelDeployment")) == ["full-model", "qwen-small", "qwen3-coder-30b"]
    autoscaler = monitor.one("kubernetes:autoscaling.aibrix.ai/v1alpha1:PodAutoscaler")
    assert autoscaler.name == "qwen3-coder-30b-podautoscaler" and autoscaler.inputs["spec"]["minReplicas"] == 2
    deployments = {r.name.removesuffix("-deployment"): r for r in monitor.of_type("kubernetes:apps/v1:Deployment")}
    assert deployments["qwen-small"].inputs["spec"]["replicas"] == 3
    assert deployments["qwen-small"].inputs["spec"]["template"]["spec"]["containers"][0]["args"] == renamed_args
    assert exports["models"]["qwen-small"]["served_model_name"] == "qwen-small"
    assert exports["models"]["qwen-small"]["status"] == "pending"


def test_the_program_registers_its_resources_with_the_collector_tuned(project, monkeypatch):
    seen = []
    register = pulumi_mocks.RecordingMonitor.RegisterResource
    monkeypatch.setattr(
        pulumi_mocks.RecordingMonitor, "RegisterResource", lambda self, request: seen.append(gc.get_threshold()) or register(self, request)
    )
    before = gc.get_threshold()

    run_program(project)

    assert len(seen) > 10 and set(seen) == {collector.THRESHOLDS}
    assert gc.get_threshold() == before  # the harness gives the test process its own back


def test_a_canary_is_a_model_deployment_of_its_own_and_the_route_is_the_models(project):
    canary = {"version": "v2", "weight": 25, "image": "vllm/vllm-openai:v0.11.0"}
    write_stack(project, pooled_stack(entry(canary=canary), docs={"enabled": False}))

    monitor, _, exports = run_program(project, preview=False)

    components = {r.name: r for r in monitor.of_type("model-fleet:index:ModelDeployment")}
    assert sorted(components) == ["qwen3-coder-30b", "qwen3-coder-30b-v2"]
    pools = {r.name: r for r in monitor.of_type("kubernetes:inference.networking.k8s.io/v1:InferencePool")}
    assert {name: pool.parent for name, pool in pools.items()} == {
        "qwen3-coder-30b-inferencepool": components["qwen3-coder-30b"].urn,
        "qwen3-coder-30b-v2-inferencepool": components["qwen3-coder-30b-v2"].urn,
    }
    route = monitor.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert route.name == "qwen3-coder-30b-httproute" and route.parent == components["qwen3-coder-30b"].urn
    assert [(b["name"], b["weight"]) for b in route.inputs["spec"]["rules"][0]["backendRefs"]] == [
        ("qwen3-coder-30b", 75),
        ("qwen3-coder-30b-v2", 25),
    ]
    assert sorted(exports["models"]) == ["qwen3-coder-30b", "qwen3-coder-30b-v2"]
