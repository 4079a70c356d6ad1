"""Defence in depth: values that slipped past validation still cannot change the snippets' programs.

The snippet model is built directly here, bypassing the spec's validators, with values an
attacker would write in a stack file; the generated Python must hold them only as string
constants, and the generated bash must pass them to curl as data without running anything.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import jinja2
import pytest

from components.contract.spec import ModelType
from docsgen import escapes, render

# Each test's tier is marked on it: `unit` runs in this process, `process` starts bash or a command.

HOSTILE = [
    "org/x'; touch $MARKER; echo '",
    'org/x"; touch $MARKER; echo "',
    "$(touch $MARKER)",
    "`touch $MARKER`",
    "a\nimport os; os.system('touch $MARKER')\n",
    "x\u2028y\x0bz\x0c\x85\x00",
    "\\'\\\"\\",
    "https://a.com/v1;{touch,$MARKER};#",
    "https://a.com/v1?x=1&touch $MARKER",
]
SNIPPET_KINDS = [(kind, snippet) for kind in ModelType for snippet in render.snippet_files("x", kind)]


def hostile_model(value: str, kind: ModelType, marker: Path) -> render.SnippetModel:
    value = value.replace("$MARKER", str(marker))
    return render.SnippetModel(display_name=value, model_id=value, model_type=kind, api_base_url=value, platform_name=value)


def _string_constants(tree: ast.AST) -> set[str]:
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


@pytest.mark.process
@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("kind, snippet", SNIPPET_KINDS, ids=lambda p: getattr(p, "template", str(p)))
def test_hostile_values_stay_data_in_every_snippet(tmp_path, value, kind, snippet):
    marker = tmp_path / "pwned"
    model = hostile_model(value, kind, marker)
    text = render.render_snippet(snippet, model)

    if snippet.language == "python":
        tree = ast.parse(text)
        constants = _string_constants(tree)
        assert model.model_id in constants or any(model.model_id in c for c in constants)
        # Exactly the calls the template makes: no value became a call of its own.
        calls = sorted({ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)})
        safe_model = render.SnippetModel("M", "m", kind, "https://a.com", "P")
        expected_tree = ast.parse(render.render_snippet(snippet, safe_model))
        assert calls == sorted({ast.unparse(n.func) for n in ast.walk(expected_tree) if isinstance(n, ast.Call)})
    else:
        script = tmp_path / "snippet.sh"
        script.write_text(text)
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
        run_with_stubs(script, tmp_path)
        assert not marker.exists(), f"{snippet.template} ran code from a value"


def run_with_stubs(script: Path, tmp_path: Path) -> None:
    """Run a bash snippet with curl, jq and sleep replaced by stubs that only record their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool, output in (("curl", '{"id": "x", "status": "completed", "output_file_id": "y"}'), ("jq", "completed"), ("sleep", "")):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" >> "{tmp_path}/{tool}.log"\necho \'{output}\'\n')
        stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "API_KEY": "test-key", "HOME": str(tmp_path)}
    subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True, timeout=30)


@pytest.mark.process
def test_model_id_reaches_curl_as_one_argument_whatever_it_holds(tmp_path):
    value = "org/x'; touch /tmp/p; echo '"
    snippet = next(s for s in render.snippet_files("x", ModelType.chat) if s.page == "real-time" and s.language == "bash")
    script = tmp_path / "snippet.sh"
    script.write_text(render.render_snippet(snippet, render.SnippetModel("M", value, ModelType.chat, "https://a.com/v1", "P")))
    run_with_stubs(script, tmp_path)
    args = (tmp_path / "curl.log").read_text()
    assert "https://a.com/v1/chat/completions\n" in args
    assert '"model": "org/x\'; touch /tmp/p; echo \'"' in args


@pytest.mark.unit
def test_a_template_value_without_an_escape_filter_does_not_render():
    with pytest.raises(TypeError, match="is not escaped"):
        render.ENV.from_string("print('{{ value }}')").render(value="x")


@pytest.mark.unit
def test_every_template_escapes_every_value():
    """No template writes a raw value: rendering each one with plain values goes through the filters."""
    for kind in ModelType:
        model = render.SnippetModel("Name", "m", kind, "https://a.com/v1", "Platform")
        for snippet in render.snippet_files("x", kind):
            render.render_snippet(snippet, model)


@pytest.mark.unit
@pytest.mark.parametrize(
    "title, shown",
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("A & B *bold*", "A &amp; B \\*bold\\*"),
    ],
)
def test_display_names_are_plain_text_in_the_pages(title, shown):
    snippet = render.snippet_files("x", ModelType.chat)[0]
    assert render.render_entry(title, snippet).splitlines()[0] == f'??? example "{shown}"'


@pytest.mark.unit
def test_python_string_literal_round_trips_every_character():
    for value in HOSTILE + ["plain", "é 😀", "\t\r\n"]:
        assert ast.literal_eval(escapes.py_str(value)) == value


@pytest.mark.process
def test_bash_word_round_trips_every_character():
    # A bash argument cannot hold NUL, so that one value is left out.
    for value in [v for v in HOSTILE if "\x00" not in v]:
        out = subprocess.run(["bash", "-c", f"printf %s {escapes.sh_word(value)}"], capture_output=True, text=True)
        assert out.stdout == value


@pytest.mark.unit
def test_strict_undefined_still_applies():
    with pytest.raises(jinja2.UndefinedError):
        render.ENV.from_string("{{ missing | py }}").render()


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("Chat | code", r"Chat \| code"),
        ("a\nb", r"a\\x0ab"),
        ("<b>*x*</b>", r"&lt;b&gt;\*x\*&lt;/b&gt;"),
    ],
)
def test_a_table_cell_cannot_end_early_or_hold_markup(value, cell):
    assert escapes.table_cell(value) == cell


@pytest.mark.unit
@pytest.mark.parametrize(
    ("count", "shown"),
    [(32768, "32K"), (32000, "32k"), (1048576, "1M"), (2000000, "2m"), (25600, "25K"), (12345, "12345"), (None, "—")],
)
def test_token_counts_are_shown_in_the_notation_vllm_reads_back(count, shown):
    assert escapes.tokens(count) == shown


@pytest.mark.unit
def test_a_model_id_that_would_break_inline_code_is_escaped_text_instead():
    assert escapes.inline_code("org/m-1.5:fp8") == "`org/m-1.5:fp8`"
    assert escapes.inline_code("a`|b") == r"a\`\|b"
