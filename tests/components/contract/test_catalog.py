"""The model catalog: merge semantics, its problems word for word, secrets, and a stack's own catalog."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from components.contract import catalog, config, secret_values, stack_files
from components.contract.problems import ProblemsFound
from harness.factories import catalog_entry, entry, stack, write_project, write_stack

pytestmark = pytest.mark.unit


def project_with(tmp_path, *items, catalog_entries=None, name="dev", **sections):
    write_project(tmp_path, catalog_entries if catalog_entries is not None else {"qwen3-coder-30b": catalog_entry()})
    write_stack(tmp_path, stack(*items, **sections), name=name)
    return tmp_path


def problems_in(project, name="dev") -> list[str]:
    with pytest.raises(ProblemsFound) as caught:
        config.load_stack_file(project, name)
    return caught.value.report().splitlines()


def resolved(item: dict, base: dict | None = None) -> catalog.Item:
    resolution = catalog.resolve(
        [item], {"qwen3-coder-30b": base or catalog_entry()}, stack_file="Pulumi.prod.yaml", catalog_file="Pulumi.yaml"
    )
    assert resolution.problems == []
    return resolution.items[0]


def test_maps_merge_key_by_key_lists_and_scalars_replace_and_null_removes():
    item = resolved(
        {
            "catalog": "qwen3-coder-30b",
            "description": None,
            "tags": ["prod"],
            "deployment_config": {"autoscaling_config": {"min_replicas": 2}, "extra_env": [], "gpu_count": 1, "storage_class": None},
        }
    )
    merged = item.entry
    assert merged["name"] == "qwen3-coder-30b"
    assert "description" not in merged and "storage_class" not in merged["deployment_config"]
    assert merged["tags"] == ["prod"] and merged["deployment_config"]["extra_env"] == []
    assert merged["deployment_config"]["autoscaling_config"] == {
        "min_replicas": 2,
        "max_replicas": 8,
        "target_metric": "num_requests_running",
        "target_value": "40",
        "scale_down_delay": "3m",
    }
    assert merged["deployment_config"]["image"] == catalog_entry()["deployment_config"]["image"]
    assert item.sources["deployment_config.autoscaling_config.min_replicas"] == "Pulumi.prod.yaml"
    assert item.sources["deployment_config.autoscaling_config.max_replicas"] == catalog.FROM_CATALOG
    assert item.sources["deployment_config.gpu_count"] == "Pulumi.prod.yaml"
    assert item.removed == ["description", "deployment_config.storage_class"]


def test_a_catalog_entry_is_served_under_another_name(tmp_path):
    args = ["-c", "vllm serve Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 --served-model-name qwen-fast"]
    renamed = {
        "catalog": "qwen3-coder-30b",
        "name": "qwen-fast",
        "display_name": "Qwen fast",
        "deployment_config": {"args": args, "replicas": None},
    }
    loaded = config.load_stack_file(project_with(tmp_path, {"catalog": "qwen3-coder-30b"}, renamed), "dev")
    assert [m.name for m in loaded.spec.models] == ["qwen3-coder-30b", "qwen-fast"]
    # A null for a known key the catalog entry does not set removes nothing and is no problem.
    assert loaded.spec.models[1].deployment_config.replicas == 1
    assert loaded.spec.models[1].deployment_config.gpu_count == loaded.spec.models[0].deployment_config.gpu_count == 1


def test_full_entries_and_catalog_items_mix_in_one_stack(tmp_path):
    project = project_with(tmp_path, entry("full-model"), {"catalog": "qwen3-coder-30b", "deployment_config": {"gpu_count": 1}})
    loaded = config.load_stack_file(project, "dev")
    assert [m.name for m in loaded.spec.models] == ["full-model", "qwen3-coder-30b"]


def test_every_catalog_problem_is_reported_in_one_run_naming_file_item_and_catalog_entry(tmp_path):
    # `broken` is served twice: its own problem is reported once, and its items are not checked again.
    broken = catalog_entry("broken", **{"deployment_config.gpu_count": 3})
    project = project_with(
        tmp_path,
        {"catalog": "qwen3-coder"},
        {"catalog": "qwen3-coder-30b", "deployment_config": {"gpu_cuont": 2}, "descripton": None},
        {"catalog": "qwen3-coder-30b", "deployment_config": {"gpu_count": 2}},
        {"catalog": "qwen3-coder-30b"},
        {"catalog": "broken"},
        {"catalog": "broken", "name": "broken-too"},
        catalog_entries={"qwen3-coder-30b": catalog_entry(), "broken": broken},
        name="prod",
    )
    assert problems_in(project, "prod") == [
        "Pulumi.prod.yaml: 7 problems found; nothing was changed",
        "  - Pulumi.yaml catalog.broken deployment_config.gpu_count: gpu_count 3 is outside requirements.gpu min_gpus..max_gpus (1..1)",
        "  - models[0] catalog: 'qwen3-coder' is not an entry of the catalog in Pulumi.yaml (did you mean 'qwen3-coder-30b'?)",
        "  - models[1] (catalog qwen3-coder-30b) deployment_config.gpu_cuont: unknown key 'gpu_cuont' (did you mean 'gpu_count'?)",
        "  - models[1] (catalog qwen3-coder-30b) descripton: unknown key 'descripton' (did you mean 'description'?)",
        "  - models[2] (catalog qwen3-coder-30b) deployment_config.gpu_count: gpu_count 2 is outside requirements.gpu min_gpus..max_gpus (1..1)",
        "  - models[3] (catalog qwen3-coder-30b) name: 'qwen3-coder-30b' is already used by models[2] (catalog qwen3-coder-30b)",
        "  - models[3] (catalog qwen3-coder-30b) display_name: 'Qwen3 Coder 30B' is already used by models[2] (catalog qwen3-coder-30b)",
    ]


def test_a_catalog_entry_holding_its_own_name_or_no_map_is_refused(tmp_path):
    named = {"name": "x", **catalog_entry()}
    project = project_with(tmp_path, {"catalog": "named"}, {"catalog": "scalar"}, catalog_entries={"named": named, "scalar": "qwen"})
    assert problems_in(project) == [
        "Pulumi.dev.yaml: 2 problems found; nothing was changed",
        "  - Pulumi.yaml catalog.named name: the catalog key names the entry; remove `name`",
        "  - Pulumi.yaml catalog.scalar: must be a map of entry keys to values",
    ]


def test_a_catalog_without_the_structured_value_form_is_refused(tmp_path):
    project_with(tmp_path, {"catalog": "qwen3-coder-30b"})
    (tmp_path / "Pulumi.yaml").write_text("name: model-fleet\nconfig:\n  model-fleet:catalog:\n    qwen3-coder-30b: {}\n")
    assert problems_in(tmp_path) == [
        "Pulumi.yaml: 1 problem found; nothing was changed",
        "  - model-fleet:catalog: write the catalog in the structured form, under `value:`",
    ]


def test_a_plaintext_token_in_the_catalog_is_refused_pointing_at_pulumi_yaml(tmp_path):
    token = "hf_" + "A1b2C3d4E5" * 4
    project = project_with(
        tmp_path,
        {"catalog": "qwen3-coder-30b"},
        catalog_entries={"qwen3-coder-30b": catalog_entry(**{"deployment_config.hugging_face_token": token})},
    )
    report = problems_in(project)
    assert report == [
        "Pulumi.dev.yaml: 1 problem found; nothing was changed",
        "  - Pulumi.yaml catalog.qwen3-coder-30b deployment_config.hugging_face_token: plaintext Hugging Face token in "
        "Pulumi.yaml; project config cannot hold secrets: remove it and set it on each stack's item serving this entry "
        "with `pulumi config set --secret --path 'model-fleet:models[N].deployment_config.hugging_face_token' <token>`",
    ]
    assert token not in "\n".join(report)


def test_a_secret_override_in_a_catalog_item_stays_a_secret_after_the_merge(tmp_path):
    written = {"catalog": "qwen3-coder-30b", "deployment_config": {"hugging_face_token": {"secure": "v1:ciphertext"}}}
    project = project_with(tmp_path, written)
    decrypted = {"catalog": "qwen3-coder-30b", "deployment_config": {"hugging_face_token": "hf_clear"}}
    file_section = stack_files.model_fleet_section(stack_files.read_stack(project, "dev").stack_config)

    raw = secret_values.mark_secrets({**stack(decrypted), "catalog": {"qwen3-coder-30b": catalog_entry()}}, file_section)
    token = config.load(raw, source="Pulumi.dev.yaml").spec.models[0].deployment_config.hugging_face_token

    assert isinstance(token, SecretStr) and token.get_secret_value() == "hf_clear"
    # Without the engine the commands see the ciphertext as a secret, never printed.
    loaded = config.load_stack_file(project, "dev")
    assert isinstance(loaded.spec.models[0].deployment_config.hugging_face_token, SecretStr)


def test_a_stack_setting_its_own_catalog_replaces_the_projects(tmp_path):
    own = {"qwen3-coder-30b": catalog_entry(**{"deployment_config.image": "vllm/vllm-openai:own"})}
    project = project_with(tmp_path, {"catalog": "qwen3-coder-30b"}, catalog=own)
    assert config.load_stack_file(project, "dev").spec.models[0].deployment_config.image == "vllm/vllm-openai:own"

    write_stack(project, stack({"catalog": "qwen3-coder-30b"}, catalog={"other": catalog_entry()}))
    assert problems_in(project) == [
        "Pulumi.dev.yaml: 1 problem found; nothing was changed",
        "  - models[0] catalog: 'qwen3-coder-30b' is not an entry of the catalog in Pulumi.dev.yaml",
    ]
