"""The one YAML loader: what PyYAML reads the same, and what it refuses, with file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.contract.strict_yaml import MAX_DEPTH, MAX_EXPANDED_NODES, StrictYAMLError, parse_yaml, read_yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"]


def refused(text: str) -> StrictYAMLError:
    with pytest.raises(StrictYAMLError) as caught:
        parse_yaml(text, "Pulumi.dev.yaml")
    return caught.value


@pytest.mark.parametrize("name", COMMITTED)
def test_the_committed_files_read_as_pyyaml_reads_them(name):
    text = (ROOT / name).read_text()
    expected = yaml.load(text, Loader=yaml.SafeLoader)
    got = parse_yaml(text, name)
    assert got == expected
    assert list(got) == list(expected) and list(got["config"]) == list(expected["config"])


def test_yaml_1_1_scalars_keep_their_pyyaml_types():
    text = 'a: 30\nb: "30"\nc: 1.5\nd: yes\ne: ~\nf: 0x10\ng: 1:20\nh: !!str 5\ni: !!int "7"\nj: off\nk: text\n'
    assert parse_yaml(text, "f") == yaml.safe_load(text) == {
        "a": 30, "b": "30", "c": 1.5, "d": True, "e": None, "f": 16, "g": 80, "h": "5", "i": 7, "j": False, "k": "text"
    }  # fmt: skip


def test_an_empty_or_comment_only_document_is_none_and_a_bom_is_read_past():
    assert parse_yaml("", "f") is None
    assert parse_yaml("# nothing here\n", "f") is None
    assert parse_yaml("\ufeffconfig: {}\r\n", "f") == {"config": {}}


def test_a_key_written_twice_is_refused_at_the_second():
    err = refused("config:\n  model-fleet:namespace: a\n  model-fleet:namespace: b\n")
    assert str(err) == "Pulumi.dev.yaml:3:3: the key is written twice in its mapping; keep one"
    assert err.path == ("config", "model-fleet:namespace")
    assert (err.source, err.line, err.column) == ("Pulumi.dev.yaml", 3, 3)


def test_the_same_key_in_two_mappings_is_fine():
    assert parse_yaml("a: {x: 1}\nb: {x: 2}\n", "f") == {"a": {"x": 1}, "b": {"x": 2}}


def test_merge_keys_merge_as_pyyaml_does_and_own_keys_win():
    text = "base: &b {x: 1, y: 2}\nother: &o {z: 3}\nm:\n  <<: [*b, *o]\n  y: 9\n"
    got = parse_yaml(text, "f")
    assert got == yaml.safe_load(text)
    assert list(got["m"]) == list(yaml.safe_load(text)["m"])


def test_a_kilobyte_billion_laughs_is_refused_while_streaming():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = "\n".join(lines) + "\n"
    assert len(text) < 1024
    err = refused(text)
    assert err.message == f"its aliases expand to more than {MAX_EXPANDED_NODES:,} nodes"
    assert err.line is not None and err.line <= 7


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, "{a: " * 100_000 + "1" + "}" * 100_000, "- " * 100_000 + "x\n"],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_deep_nesting_is_refused_at_the_limit_not_by_the_stack(text):
    err = refused(text)
    assert err.message == f"nested more than {MAX_DEPTH} levels deep"
    assert err.line == 1


def test_nesting_up_to_the_limit_is_read():
    expected: list = []
    for _ in range(MAX_DEPTH - 1):
        expected = [expected]
    assert parse_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH, "f") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("when: 2026-12-01\n", "'2026-12-01' is a date or time to YAML, not text; quote it"),
        ("blob: !!binary aGVsbG8=\n", "a value tagged !!binary is not JSON data; remove the tag"),
        ("x: !custom thing\n", "a value tagged !custom is not JSON data; remove the tag"),
        ("x: !!set {a, b}\n", "tag tag:yaml.org,2002:set is not JSON data; remove it"),
        ("n: 123456789012345678901234567890\n", "integer 123456789012345678901234567890 is outside 64 bits; quote it if it is text"),
        ("n: .inf\n", "'.inf' is not a finite number; quote it if it is text"),
        ("n: .nan\n", "'.nan' is not a finite number; quote it if it is text"),
        ("on: push\n", "key 'on' is not text to YAML (bool); quote it"),
        ("1: one\n", "key '1' is not text to YAML (int); quote it"),
        ("? [a, b]\n: c\n", "a list as a key is not JSON data; keys are text"),
        ("a: <<\n", "`<<` is YAML's merge key and stands only as a key; quote it if it is text"),
    ],
)
def test_values_json_cannot_hold_are_refused_naming_the_place(text, message):
    err = refused(text)
    assert err.message == message
    assert err.line == 1


def test_more_than_one_document_is_refused():
    assert refused("a: 1\n---\nb: 2\n").message == "more than one YAML document (`---`); a config file holds one"


def test_a_parse_error_names_line_and_column():
    err = refused("config:\n  a: [1, 2\n  b: 3\n")
    assert err.message.startswith("not valid YAML: ")
    assert err.line == 3


def test_an_alias_to_no_anchor_is_a_parse_problem():
    err = refused("a: *nowhere\n")
    assert err.line == 1 and "nowhere" in err.message


def test_read_yaml_names_a_byte_that_is_not_utf8(tmp_path):
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_bytes(b"config:\n  a: \xff\n")
    with pytest.raises(StrictYAMLError) as caught:
        read_yaml(path)
    assert str(caught.value) == "Pulumi.dev.yaml:2: not UTF-8 text: byte 0xff"


def test_read_yaml_lets_a_missing_file_raise_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_yaml(tmp_path / "absent.yaml")


def test_an_error_says_which_keys_lead_to_the_node_at_fault():
    text = "config:\n  model-fleet:models:\n    - name: a\n    - name: b\n      deployment_config: {gpu_count: 99999999999999999999}\n"
    err = refused(text)
    assert err.path == ("config", "model-fleet:models", 1, "deployment_config", "gpu_count")
    assert (err.line, err.column) == (5, 38)
    assert refused("a:\n  b: 1\n  b: 2\n").path == ("a", "b")


def test_a_file_other_tools_write_may_have_its_dates_read_as_text():
    text = "users:\n- name: u\n  user:\n    auth-provider:\n      config: {expiry: 2026-12-01T10:00:00Z}\n"
    assert parse_yaml(text, "kubeconfig", dates_as_text=True)["users"][0]["user"]["auth-provider"]["config"] == {
        "expiry": "2026-12-01T10:00:00Z"
    }
    with pytest.raises(StrictYAMLError):
        parse_yaml(text, "kubeconfig")
