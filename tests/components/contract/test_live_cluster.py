"""status, check and models --all against an odd or hostile Kubernetes API: every odd object is a
line saying what was skipped or read another way and why, names are shown escaped, and the whole
read ends within a deadline the message states."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from components.commands.cli import main as cli
from components.contract import config, live_cluster
from components.contract.field_problems import shown
from components.contract.live_cluster import PreflightError, parse_list
from components.contract.problems import ProblemsFound
from harness.factories import DELETE, entry, gpu_entry, stack, write_stack
from tests.kube_api import FakeKubeAPI, deployment, node

ESC = "\x1b"
NODES_PATH = "/api/v1/nodes"
DEPLOYMENTS_PATH = "/apis/apps/v1/deployments"
AIBRIX = "podautoscalers.autoscaling.aibrix.ai"
# What a stack routed by aibrix (the default) needs beside AIBrix, as the seed says.
ENVOY_GATEWAY = "gatewayclasses.gateway.networking.k8s.io"
# A cluster the stack's one model passes the preflight on, so models --all gets to list deployments.
FITTING = [node("gpu-a", 2, "A100", "40960")]


def _run(tmp_path: Path, capsys, api: FakeKubeAPI, *command: str) -> tuple[int, str, str]:
    """The command against `api` for a stack whose kubeconfig names it: exit code, stdout, stderr."""
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    write_stack(tmp_path, stack(entry(), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}))
    code = cli([command[0], "--stack", "dev", "--project-dir", str(tmp_path), *command[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def status(tmp_path: Path, capsys, api: FakeKubeAPI, *flags: str) -> tuple[int, str, str]:
    return _run(tmp_path, capsys, api, "status", *flags)


def warnings(err: str) -> list[str]:
    return [line.removeprefix("warning: ") for line in err.splitlines() if line.startswith("warning: ")]


# --- the one escaping function ------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gpu-a100-0", "gpu-a100-0"),
        ("NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-SXM4-80GB"),
        ("n\x1b[31mred", "'n\\x1b[31mred'"),
        ("a\x1b]0;title\x07", "'a\\x1b]0;title\\x07'"),
        ("two\nlines", "'two\\nlines'"),
        ("back\rover", "'back\\rover'"),
        ("rtl\u202eevil", "'rtl\\u202eevil'"),
    ],
)
def test_a_name_is_shown_as_is_or_escaped_never_with_raw_control_characters(text, expected):
    assert shown(text) == expected
    assert shown(text).isprintable()


# --- a list body, read as plain JSON ------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>gateway</html>", "X: the answer is not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "X: the answer is not JSON"),
        (b"[1, 2]", "X: the answer is a JSON list, not a NodeList"),
        (b"null", "X: the answer is empty, not a NodeList"),
        (b'{"items": "abc"}', "X: the answer is not a NodeList: its items are a JSON string, not a list"),
        (b'{"items": {"a": 1}}', "X: the answer is not a NodeList: its items are a JSON mapping, not a list"),
    ],
)
def test_a_body_that_is_not_a_list_is_one_message(body, message):
    with pytest.raises(PreflightError) as caught:
        parse_list(body, NODES_PATH, "NodeList", "X: the answer")
    assert str(caught.value) == message


@pytest.mark.unit
def test_items_null_reads_as_no_items_and_an_item_that_is_not_an_object_is_skipped_with_a_line():
    assert parse_list(b'{"items": null}', NODES_PATH, "NodeList", "X").skipped == [
        "the NodeList from GET /api/v1/nodes has items: null; read as no items"
    ]
    listed = parse_list(b'{"items": [{"metadata": {}}, "n", 3, null]}', NODES_PATH, "NodeList", "X")
    assert listed.items == [{"metadata": {}}]
    assert listed.skipped == [
        "NodeList item 1 skipped: a JSON string, not an object",
        "NodeList item 2 skipped: a JSON number, not an object",
        "NodeList item 3 skipped: empty, not an object",
    ]


# --- nodes --------------------------------------------------------------------------------


def _gpu_node(name: str, capacity, labels: dict[str, str] | None = None) -> dict:
    made = node(name, 1, "NVIDIA-A100-SXM4-80GB", "81920")
    made["status"]["capacity"]["nvidia.com/gpu"] = capacity
    made["metadata"]["labels"].update(labels or {})
    return made


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("odd", "note"),
    [
        ({"metadata": {"name": "new-node"}}, "node new-node has no status.capacity: counted without GPUs"),
        ({"metadata": {"name": "new-node"}, "status": None}, "node new-node has no status.capacity: counted without GPUs"),
        (
            _gpu_node("gpu-x", "lots"),
            "node gpu-x: nvidia.com/gpu capacity 'lots' is not a whole number of GPUs: counted without GPUs",
        ),
        (_gpu_node("gpu-x", "1.5"), "node gpu-x: nvidia.com/gpu capacity '1.5' is not a whole number of GPUs: counted without GPUs"),
        (_gpu_node("gpu-x", "-2"), "node gpu-x: nvidia.com/gpu capacity '-2' is not a whole number of GPUs: counted without GPUs"),
        (_gpu_node("gpu-x", "1e400"), "node gpu-x: nvidia.com/gpu capacity '1e400' is not a whole number of GPUs: counted without GPUs"),
        (_gpu_node("gpu-x", "²"), "node gpu-x: nvidia.com/gpu capacity '²' is not a whole number of GPUs: counted without GPUs"),
        (_gpu_node("gpu-x", True), "node gpu-x: nvidia.com/gpu capacity True is not a whole number of GPUs: counted without GPUs"),
        (_gpu_node("gpu-x", {"a": 1}), "node gpu-x: nvidia.com/gpu capacity {'a': 1} is not a whole number of GPUs: counted without GPUs"),
        (
            _gpu_node("gpu-x", "128"),
            "node gpu-x advertises 128 nvidia.com/gpu, more than the 64 a replica can request, "
            "and no nvidia.com/gpu.replicas label says they are time-sliced shares: counted without GPUs",
        ),
        (
            _gpu_node("gpu-x", "2", {"nvidia.com/gpu.memory": "9" * 5000}),
            "node gpu-x has nvidia.com/gpu.memory '" + "9" * 5000 + "' is not a number of MiB (GPU feature discovery): "
            "its GPU memory counts as 0",
        ),
        (
            _gpu_node("gpu-x", "2", {"nvidia.com/gpu.memory": "８０"}),
            "node gpu-x has nvidia.com/gpu.memory '８０' is not a number of MiB (GPU feature discovery): its GPU memory counts as 0",
        ),
        ({"metadata": {"labels": {"a": "b"}}, "status": {}}, "NodeList item 1 skipped: no metadata.name"),
        ({"metadata": {"name": 7}}, "NodeList item 1 skipped: no metadata.name"),
        ({"metadata": "n"}, "NodeList item 1 skipped: no metadata.name"),
        ("n", "NodeList item 1 skipped: a JSON string, not an object"),
    ],
)
def test_status_reports_an_odd_node_with_a_line_saying_why_and_the_rest_of_the_cluster(tmp_path, capsys, odd, note):
    with FakeKubeAPI(
        [node("gpu-a", 2, "A100", "40960"), odd], ["podautoscalers.autoscaling.aibrix.ai", "gatewayclasses.gateway.networking.k8s.io"]
    ) as api:
        code, out, err = status(tmp_path, capsys, api)
    assert code == 0, err
    assert warnings(err) == [note]
    assert "  gpu-a: 2 x A100, 81920Mi VRAM" in out.splitlines()


@pytest.mark.loopback
def test_a_gpu_node_without_the_memory_label_is_reported_and_counts_no_memory(tmp_path, capsys):
    with FakeKubeAPI([node("gpu-l4", 1, "NVIDIA-L4")], []) as api:
        code, out, err = status(tmp_path, capsys, api)
    assert code == 0
    assert warnings(err) == [
        "node gpu-l4 has no nvidia.com/gpu.memory label (GPU feature discovery): its GPU memory counts as 0",
    ]
    assert "  gpu-l4: 1 x NVIDIA-L4, 0Mi VRAM" in out.splitlines()


TIME_SLICED = {"nvidia.com/gpu.replicas": "16", "nvidia.com/gpu.count": "4", "nvidia.com/gpu.sharing-strategy": "time-slicing"}


@pytest.mark.loopback
@pytest.mark.parametrize("labels", [TIME_SLICED, {"nvidia.com/gpu.replicas": "16"}], ids=["with-count", "shares-only"])
def test_a_time_sliced_node_counts_its_physical_gpus_and_their_memory_once(tmp_path, capsys, labels):
    sliced = _gpu_node("gpu-shared", "64", labels)
    with FakeKubeAPI([sliced], []) as api:
        code, out, err = status(tmp_path, capsys, api, "--json")
    assert code == 0
    assert warnings(err) == [
        "node gpu-shared: its 64 nvidia.com/gpu are time-sliced shares (nvidia.com/gpu.replicas=16) of 4 GPUs: counted as 4"
    ]
    (reported,) = json.loads(out)["cluster_status"]["gpu_nodes"]
    assert (reported["gpu_count"], reported["total_vram"]) == (4, "327680Mi")


@pytest.mark.loopback
def test_check_prints_the_lines_about_odd_nodes_as_warnings_and_still_checks_the_fleet(tmp_path, capsys):
    nodes = [_gpu_node("gpu-shared", "64", TIME_SLICED), {"metadata": {"name": "joining"}}]
    with FakeKubeAPI(nodes, ["podautoscalers.autoscaling.aibrix.ai", "gatewayclasses.gateway.networking.k8s.io"]) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        write_stack(
            tmp_path,
            stack(gpu_entry("a", 4, "320Gi"), gpu_entry("b", 4, "320Gi"), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}),
        )
        code = cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    # Counted as the 4 GPUs it has, the node holds one of the two models, not sixteen of them.
    assert code == 1
    assert err.splitlines()[1:] == ["  - models: the fleet needs 8 GPUs at its minimum scale but the cluster has 4 (a 1x4, b 1x4)"]


@pytest.mark.loopback
def test_check_passes_with_the_lines_about_odd_nodes_as_warnings(tmp_path, capsys):
    nodes = [_gpu_node("gpu-shared", "64", TIME_SLICED), {"metadata": {"name": "joining"}}]
    with FakeKubeAPI(
        nodes, ["podautoscalers.autoscaling.aibrix.ai", "servicemonitors.monitoring.coreos.com", "gatewayclasses.gateway.networking.k8s.io"]
    ) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        model = gpu_entry("a", 4, "320Gi", **{"deployment_config.enable_pvc": False})
        write_stack(tmp_path, stack(model, cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}))
        code = cli(["check", "--stack", "dev", "--project-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert (code, out) == (0, "Pulumi.dev.yaml: 1 model valid, cluster facts from live\n")
    assert warnings(err) == [
        "node gpu-shared: its 64 nvidia.com/gpu are time-sliced shares (nvidia.com/gpu.replicas=16) of 4 GPUs: counted as 4",
        "node joining has no status.capacity: counted without GPUs",
    ]


@pytest.mark.loopback
def test_a_nodelist_with_items_null_is_an_empty_cluster_said_so(tmp_path, capsys):
    with FakeKubeAPI([], [], bodies={NODES_PATH: b'{"kind": "NodeList", "items": null}'}) as api:
        code, out, err = status(tmp_path, capsys, api)
    assert code == 0
    assert warnings(err) == ["the NodeList from GET /api/v1/nodes has items: null; read as no items"]
    assert out.splitlines()[0] == "cluster (live): 0 nodes, 0 GPUs"


@pytest.mark.loopback
def test_a_crd_without_a_name_is_skipped_with_a_line(tmp_path, capsys):
    crds = b'{"items": [{"metadata": {"name": "podautoscalers.autoscaling.aibrix.ai"}}, {"metadata": {}}, {"spec": 1}]}'
    with FakeKubeAPI([], [], bodies={"/apis/apiextensions.k8s.io/v1/customresourcedefinitions": crds}) as api:
        code, out, err = status(tmp_path, capsys, api)
    assert code == 0
    assert warnings(err) == [
        "CustomResourceDefinitionList item 1 skipped: no metadata.name",
        "CustomResourceDefinitionList item 2 skipped: no metadata.name",
    ]
    assert "  aibrix_ok: yes" in out.splitlines()


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>502 Bad Gateway</html>", "the answer to GET /api/v1/nodes is not JSON"),
        (b'{"kind": "NodeList", "items": 5}', "the answer to GET /api/v1/nodes is not a NodeList: its items are a JSON number, not a list"),
    ],
)
def test_a_body_that_is_no_nodelist_is_one_problem_of_the_stack(tmp_path, capsys, body, says):
    with FakeKubeAPI([], [], bodies={NODES_PATH: body}) as api:
        code, out, err = status(tmp_path, capsys, api)
    assert (code, out) == (1, "")
    assert err == f"Pulumi.dev.yaml: 1 problem found; nothing was changed\n  - kubernetes: cannot read the cluster at {api.url}: {says}\n"


@pytest.mark.loopback
def test_names_and_labels_with_terminal_escapes_are_shown_escaped_by_status_and_check(tmp_path, capsys):
    hostile = node("gpu\x1b[2J\x1b[31m", 1, "A100\x1b]0;owned\x07", "")
    with FakeKubeAPI([hostile], []) as api:
        code, out, err = status(tmp_path, capsys, api)
        json_code, json_out, _ = status(tmp_path, capsys, api, "--json")
    assert code == json_code == 0
    assert ESC not in out + err + json_out and "\x07" not in out + err + json_out
    assert "  'gpu\\x1b[2J\\x1b[31m': 1 x 'A100\\x1b]0;owned\\x07', 0Mi VRAM" in out.splitlines()
    assert warnings(err) == [
        "node 'gpu\\x1b[2J\\x1b[31m' has no nvidia.com/gpu.memory label (GPU feature discovery): its GPU memory counts as 0"
    ]
    # JSON keeps the name as the server sent it, escaped as JSON escapes it.
    assert json.loads(json_out)["cluster_status"]["gpu_nodes"][0]["node_name"] == "gpu\x1b[2J\x1b[31m"


@pytest.mark.loopback
def test_a_warning_naming_the_best_node_shows_its_name_escaped(tmp_path):
    with FakeKubeAPI(
        [node("n\x1b[31m", 2, "A100", "10240")], ["podautoscalers.autoscaling.aibrix.ai", "gatewayclasses.gateway.networking.k8s.io"]
    ) as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        loaded = config.load(stack(gpu_entry("a", 1, "16Gi"), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}), source="t")
    assert ESC not in "".join(loaded.warnings)
    assert "on the best node ('n\\x1b[31m': 10Gi per GPU)" in loaded.warnings[-1]


# --- deployments (models --all) -----------------------------------------------------------


def _models_all(tmp_path: Path, capsys, api: FakeKubeAPI, *flags: str) -> tuple[int, str, str]:
    return _run(tmp_path, capsys, api, "models", "--all", *flags)


def _odd(**changes) -> dict:
    made = deployment("odd-model", "team", ready=1, replicas=1)
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        place = made
        for parent in parents:
            place = place[parent]
        if value is DELETE:
            del place[key]
        else:
            place[key] = value
    return made


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("odd", "note", "listed"),
    [
        (_odd(status=DELETE), "deployment team/odd-model has no status yet: counted with no replicas", ("pending", 0)),
        (_odd(status=None), "deployment team/odd-model has no status yet: counted with no replicas", ("pending", 0)),
        (
            _odd(**{"status.readyReplicas": "abc"}),
            "deployment team/odd-model: status.readyReplicas 'abc' is not a count: counted as 0",
            ("creating", 1),
        ),
        (_odd(**{"status.replicas": -3}), "deployment team/odd-model: status.replicas -3 is not a count: counted as 0", ("running", 0)),
        (
            _odd(**{"metadata.creationTimestamp": "yesterday"}),
            "deployment team/odd-model: metadata.creationTimestamp 'yesterday' is not a time: left out",
            ("running", 1),
        ),
        (_odd(**{"metadata.labels": DELETE}), "deployment team/odd-model skipped: no model.aibrix.ai/name label", None),
        (
            _odd(**{"metadata.labels": {"model.aibrix.ai/name": 5}}),
            "deployment team/odd-model skipped: no model.aibrix.ai/name label",
            None,
        ),
        (_odd(**{"metadata.namespace": DELETE}), "DeploymentList item 1 skipped: no metadata.namespace", None),
        (_odd(metadata=DELETE), "DeploymentList item 1 skipped: no metadata.name", None),
        ([], "DeploymentList item 1 skipped: a JSON list, not an object", None),
    ],
)
def test_models_all_lists_an_odd_deployment_or_skips_it_with_a_line_saying_why(tmp_path, capsys, odd, note, listed):
    live = [deployment("qwen3-coder-30b", "jan-models", ready=1, replicas=1), odd]
    with FakeKubeAPI(FITTING, [AIBRIX, ENVOY_GATEWAY], live) as api:
        code, out, err = _models_all(tmp_path, capsys, api, "--json")
    assert code == 0, err
    assert warnings(err) == [note]
    models = json.loads(out)["models"]
    by_name = {m["name"]: m for m in models}
    assert len(by_name) == len(models) and by_name["qwen3-coder-30b"]["status"] == "running"
    if listed is None:
        assert "odd-model" not in by_name
    else:
        assert (by_name["odd-model"]["status"], by_name["odd-model"]["replicas"]) == listed


@pytest.mark.loopback
def test_models_all_with_items_null_lists_the_stacks_models_and_says_so(tmp_path, capsys):
    with FakeKubeAPI(FITTING, [AIBRIX, ENVOY_GATEWAY], bodies={DEPLOYMENTS_PATH: b'{"items": null}'}) as api:
        code, out, err = _models_all(tmp_path, capsys, api)
    assert code == 0
    assert warnings(err) == ["the DeploymentList from GET /apis/apps/v1/deployments has items: null; read as no items"]
    assert out.splitlines()[-1] == "1 model"


@pytest.mark.loopback
def test_models_all_shows_names_and_namespaces_escaped(tmp_path, capsys):
    hostile = deployment("evil\x1b[2J", "ns\x1b[31m", ready=1, replicas=1)
    with FakeKubeAPI(FITTING, [AIBRIX, ENVOY_GATEWAY], [hostile]) as api:
        code, out, err = _models_all(tmp_path, capsys, api)
        json_code, json_out, _ = _models_all(tmp_path, capsys, api, "--json")
    assert code == json_code == 0
    assert ESC not in out + err + json_out
    assert out.splitlines()[1].split() == ["'evil\\x1b[2J'", "'ns\\x1b[31m'", "unmanaged", "running"]
    assert {m["name"] for m in json.loads(json_out)["models"]} == {"qwen3-coder-30b", "evil\x1b[2J"}


@pytest.mark.loopback
def test_a_deployment_list_that_is_not_json_is_one_error(tmp_path, capsys):
    with FakeKubeAPI(FITTING, [AIBRIX, ENVOY_GATEWAY], bodies={DEPLOYMENTS_PATH: b"\x1b[2Jnot json"}) as api:
        code, out, err = _models_all(tmp_path, capsys, api)
    assert (code, out) == (1, "")
    assert err == f"error: cannot list deployments at {api.url}: the answer to GET /apis/apps/v1/deployments is not JSON\n"


# --- the deadline -------------------------------------------------------------------------


@pytest.fixture
def short_deadline(monkeypatch):
    monkeypatch.setattr(live_cluster, "READ_DEADLINE_SECONDS", 1.5)
    monkeypatch.setattr(live_cluster, "READ_TIMEOUT_SECONDS", 0.5)


@pytest.mark.loopback
@pytest.mark.parametrize("stall", ["trickle-headers", "trickle-body"])
def test_a_server_that_trickles_bytes_is_given_up_at_the_deadline_the_message_states(tmp_path, capsys, short_deadline, stall):
    # A byte every 0.1 s never lets the 0.5 s read timeout fire; only the deadline ends the read.
    with FakeKubeAPI([], [], stall=stall, byte_every=0.1) as api:
        started = time.monotonic()
        code, out, err = status(tmp_path, capsys, api)
        took = time.monotonic() - started
    assert (code, out) == (1, "")
    assert err == (
        "Pulumi.dev.yaml: 1 problem found; nothing was changed\n"
        f"  - kubernetes: cannot read the cluster at {api.url}: GET /api/v1/nodes gave no complete answer within 1.5 s "
        "(the deadline of the whole read); gave up\n"
    )
    assert 1.5 <= took < 3


@pytest.mark.loopback
def test_a_server_that_never_answers_is_tried_twice_and_given_up(tmp_path, capsys, short_deadline, monkeypatch):
    # Two tries of the 0.5 s read timeout end it well before this deadline.
    monkeypatch.setattr(live_cluster, "READ_DEADLINE_SECONDS", 4.0)
    with FakeKubeAPI(FITTING, [AIBRIX, ENVOY_GATEWAY], stall="silent", stall_path=DEPLOYMENTS_PATH) as api:
        started = time.monotonic()
        code, out, err = _models_all(tmp_path, capsys, api)
        took = time.monotonic() - started
    assert (code, out) == (1, "")
    assert (
        err
        == f"error: cannot list deployments at {api.url}: GET /apis/apps/v1/deployments gave no answer within 0.5 s (2 tries); gave up\n"
    )
    assert [p.split("?")[0] for p in api.paths].count(DEPLOYMENTS_PATH) == live_cluster.TRIES and took < 4


@pytest.mark.loopback
def test_the_deadline_holds_for_the_whole_program_run_of_check(tmp_path, capsys, short_deadline):
    with FakeKubeAPI([], [], stall="trickle-headers") as api:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        started = time.monotonic()
        with pytest.raises(ProblemsFound) as caught:
            config.load(stack(entry(), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}), source="t")
        took = time.monotonic() - started
    (problem,) = caught.value.problems
    assert problem.message.endswith("gave no complete answer within 1.5 s (the deadline of the whole read); gave up")
    assert took < 3


@pytest.mark.loopback
def test_a_retry_after_is_never_waited_on_and_a_status_never_tried_again(tmp_path, capsys):
    unavailable = (503, b'{"kind": "Status", "code": 503}', {"Retry-After": "3600", "Content-Type": "application/json"})
    with FakeKubeAPI([], [], bodies={NODES_PATH: unavailable}) as api:
        started = time.monotonic()
        code, out, err = status(tmp_path, capsys, api)
        took = time.monotonic() - started
    assert code == 1
    assert err.splitlines()[1] == f"  - kubernetes: cannot read the cluster at {api.url}: Service Unavailable"
    assert len(api.paths) == 1 and took < 5


# --- the kubeconfig -----------------------------------------------------------------------


def _kubeconfig_problem(tmp_path: Path, kubeconfig: Path, **kubernetes: str) -> str:
    with pytest.raises(ProblemsFound) as caught:
        config.load(stack(entry(), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig), **kubernetes}), source="t")
    (problem,) = caught.value.problems
    assert problem.where == "kubernetes"
    return problem.message


@pytest.mark.unit
def test_a_kubeconfig_that_does_not_exist_is_a_problem_naming_it(tmp_path):
    assert _kubeconfig_problem(tmp_path, tmp_path / "nope") == f"kubeconfig {tmp_path / 'nope'} does not exist"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("clusters: [\n  - name: c\n", "line 2 column 3: not valid YAML: while parsing a flow node did not find expected node content"),
        ("a: b: c\n", "line 1 column 5: not valid YAML: mapping values are not allowed in this context"),
        ("\t- x\n", "line 1 column 1: not valid YAML: while scanning for the next token found character that cannot start any token"),
        ("[" * 5000 + "]" * 5000, "line 1 column 65: nested more than 64 levels deep"),
        ("", "is empty, not a kubeconfig (a mapping of clusters, users and contexts)"),
        ("- a\n- b\n", "is a YAML list, not a kubeconfig (a mapping of clusters, users and contexts)"),
        ("just text\n", "is a YAML string, not a kubeconfig (a mapping of clusters, users and contexts)"),
        ("clusters: 5\n", ": clusters is not a list of entries with a name"),
        ("users: [{user: {}}]\n", ": users is not a list of entries with a name"),
        ("contexts: [{name: [1]}]\n", ": contexts is not a list of entries with a name"),
    ],
)
def test_a_kubeconfig_that_is_not_a_kubeconfigs_yaml_is_a_problem_naming_it(tmp_path, text, says):
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    message = _kubeconfig_problem(tmp_path, path)
    assert message == f"kubeconfig {path}{'' if says.startswith(':') else ' '}{says}", message


@pytest.mark.unit
def test_a_kubeconfig_that_is_not_text_is_a_problem_naming_it(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_bytes(b"\xff\xfe\x00binary")
    assert _kubeconfig_problem(tmp_path, path) == f"kubeconfig {path} line 1: not UTF-8 text: byte 0xff"


@pytest.mark.unit
def test_a_kubeconfig_is_read_by_the_strict_loader(tmp_path):
    path = _kubeconfig(tmp_path / "kubeconfig")
    path.write_text(path.read_text() + "current-context: other\n")
    message = _kubeconfig_problem(tmp_path, path)
    assert message == f"kubeconfig {path} line 15 column 1 (current-context): the key is written twice in its mapping; keep one"


def _kubeconfig(path: Path, server: str = "https://127.0.0.1:6443", **cluster: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "here",
            }
        )
    )
    return path


@pytest.mark.unit
@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ({"current-context": "gone"}, "Expected object with name gone in"),
        ({"users": [{"name": "u", "user": 5}]}, "argument of type 'int' is not iterable"),
        ({"contexts": [{"name": "here", "context": {"cluster": "other", "user": "u"}}]}, "Expected object with name other"),
    ],
)
def test_a_kubeconfig_the_library_refuses_is_a_problem_naming_it(tmp_path, edit, says):
    path = _kubeconfig(tmp_path / "kubeconfig")
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **edit}))
    message = _kubeconfig_problem(tmp_path, path)
    assert message.startswith(f"cannot load kubeconfig {path}: ") and says in message, message


@pytest.mark.unit
def test_a_context_the_kubeconfig_does_not_have_is_a_problem_naming_the_file(tmp_path):
    path = _kubeconfig(tmp_path / "kubeconfig")
    message = _kubeconfig_problem(tmp_path, path, context="elsewhere")
    assert message.startswith(f"cannot load kubeconfig {path}: ") and "elsewhere" in message


@pytest.mark.unit
def test_a_relative_certificate_path_is_read_beside_the_kubeconfig(tmp_path, monkeypatch):
    folder = tmp_path / "cluster"
    folder.mkdir()
    (folder / "ca.crt").write_text("read when a request is made\n")
    path = _kubeconfig(folder / "kubeconfig", **{"certificate-authority": "ca.crt"})
    monkeypatch.chdir(tmp_path)
    assert _client(path).configuration.ssl_ca_cert == str(folder / "ca.crt")


@pytest.mark.unit
def test_kubeconfig_files_listed_in_kubeconfig_are_merged_the_first_entry_of_a_name_winning(tmp_path, monkeypatch):
    first = _kubeconfig(tmp_path / "first", server="https://first.example:6443")
    second = tmp_path / "second"
    second.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {"name": "c", "cluster": {"server": "https://ignored.example"}},
                    {"name": "d", "cluster": {"server": "https://second.example"}},
                ],
                "users": [{"name": "u", "user": {"token": "t2"}}],
                "contexts": [{"name": "there", "context": {"cluster": "d", "user": "u"}}],
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing'}:{second}")
    assert _client(context="there").configuration.host == "https://second.example"
    assert _client(context="here").configuration.host == "https://first.example:6443"
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    with pytest.raises(PreflightError) as caught:
        _client(context="here")
    assert str(caught.value) == f"no kubeconfig: none of the files $KUBECONFIG lists exists ({tmp_path / 'a'}, {tmp_path / 'b'})"


def _client(kubeconfig: Path | None = None, context: str | None = None):
    from components.contract.spec import KubernetesConfig

    class Spec:
        kubernetes = KubernetesConfig(kubeconfig=str(kubeconfig) if kubeconfig else None, context=context)

    return live_cluster.api_client(Spec())  # type: ignore[arg-type]


@pytest.mark.unit
def test_a_kubeconfig_with_an_unquoted_token_expiry_is_read_with_it_as_text(tmp_path):
    """gcloud and other tools write `expiry:` unquoted; the client reads it as text, as Go does."""
    path = _kubeconfig(tmp_path / "kubeconfig")
    text = path.read_text().replace(
        "    token: t\n", "    token: t\n    auth-provider:\n      config: {expiry: 2026-12-01T10:00:00Z}\n      name: gcp\n"
    )
    assert text != path.read_text()
    path.write_text(text)
    read = live_cluster.read_kubeconfig(path)
    [user] = read["users"]
    assert user["user"]["auth-provider"]["config"] == {"expiry": "2026-12-01T10:00:00Z"}


@pytest.mark.loopback
def test_a_relative_kubeconfig_is_read_from_the_project_whatever_directory_the_command_starts_in(tmp_path, capsys, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    elsewhere.mkdir(parents=True)
    (project / "kube").mkdir(parents=True)
    with FakeKubeAPI([node("gpu-a", 2, "A100", "40960")], []) as api:
        api.kubeconfig(project / "kube" / "config")
        write_stack(project, stack(entry(), cluster=DELETE, kubernetes={"kubeconfig": "kube/config"}))
        monkeypatch.chdir(elsewhere)
        code = cli(["status", "--stack", "dev", "--project-dir", str(project)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "  gpu-a: 2 x A100, 81920Mi VRAM" in out.splitlines()


@pytest.mark.unit
def test_the_program_reads_a_relative_kubeconfig_from_its_project_and_a_missing_one_is_named_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = stack(entry(), cluster=DELETE, kubernetes={"kubeconfig": "kube/config"})
    with pytest.raises(ProblemsFound) as caught:
        config.load(raw, source="Pulumi.dev.yaml", project_dir=tmp_path / "project")
    assert [str(p) for p in caught.value.problems] == [f"kubernetes: kubeconfig {tmp_path / 'project' / 'kube' / 'config'} does not exist"]


def _exec_kubeconfig(path: Path, server: str, script: str) -> Path:
    """A kubeconfig whose user's credentials come from an exec plugin: `script`, run by sh."""
    plugin = path.parent / "credentials-plugin"
    plugin.write_text(f"#!/bin/sh\n{script}\n")
    plugin.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "test",
            }
        )
    )
    return path


TOKEN_CREDENTIAL = '{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": "from-the-plugin"}}'


@pytest.mark.loopback
@pytest.mark.process
def test_an_exec_credential_plugin_that_answers_gives_the_command_its_credentials(tmp_path, capsys):
    with FakeKubeAPI([node("gpu-a", 2, "A100", "40960")], []) as api:
        kubeconfig = _exec_kubeconfig(tmp_path / "kubeconfig", api.url, f"echo '{TOKEN_CREDENTIAL}'")
        write_stack(tmp_path, stack(entry(), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}))
        code = cli(["status", "--stack", "dev", "--project-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "  gpu-a: 2 x A100, 81920Mi VRAM" in out.splitlines()


@pytest.mark.process
def test_an_exec_credential_plugin_that_never_answers_is_given_up_on_with_a_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(live_cluster, "CREDENTIALS_DEADLINE_SECONDS", 0.5)
    # The plugin outlives the deadline, then ends by itself.
    kubeconfig = _exec_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:9", "exec sleep 5")
    write_stack(tmp_path, stack(entry(), cluster=DELETE, kubernetes={"kubeconfig": str(kubeconfig)}))
    assert cli(["status", "--stack", "dev", "--project-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "Pulumi.dev.yaml: 1 problem found; nothing was changed\n"
        "  - kubernetes: cannot read the cluster: no credentials from the kubeconfig within 0.5 s: its exec credential "
        "plugin did not finish; gave up (run the plugin yourself to see what it waits for)\n"
    )
