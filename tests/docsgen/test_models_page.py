"""The models page and the limits include through `python -m docsgen`: the author's text kept, every
model in every place or in none, the same drift gate as the snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from docsgen.__main__ import main as docsgen
from harness.factories import entry, pooled_stack, stack, write_stack

pytestmark = pytest.mark.unit
MODELS = Path("docs/get-started/models.md")
LIMITS = Path("docs/.snippets/text/get-started/rate-limit.md")
RECORD = Path("docs/.snippets/code/get-started/start-building/.model-fleet-generated.json")
TIERS = {"limit_tiers": [{"name": "Free", "default": {"requests_per_minute": 30}}]}
INTRO = "# Our models\n\nHand-written intro | with a pipe.\n\n"
BETWEEN = "\n## Compare\n\nHand-written text between the tables.\n\n"
OUTRO = "\n## Pricing\n\nHand-written prose at the end.\n"


def run(project: Path, *args: str) -> int:
    return docsgen(["--stack", "dev", "--project-dir", str(project), *args])


def model(name: str, display_name: str, **overrides) -> dict:
    return entry(name, display_name=display_name, **overrides)


def hand_written_page(project: Path) -> None:
    """The author's page: own headings and prose around the three generated blocks."""
    (project / MODELS).write_text(
        INTRO
        + "<!-- model-fleet:names start -->\nstale\n<!-- model-fleet:names end -->\n"
        + BETWEEN
        + "<!-- model-fleet:comparison start -->\n<!-- model-fleet:comparison end -->\n"
        + OUTRO
        + "<!-- model-fleet:limits start -->\n<!-- model-fleet:limits end -->\n"
    )


def author_text(page: str) -> str:
    """The page with every generated block's content taken out: what the author wrote."""
    out, skipping = [], False
    for line in page.splitlines(keepends=True):
        if line.startswith("<!-- model-fleet:") and line.rstrip().endswith("end -->"):
            skipping = False
        if not skipping:
            out.append(line)
        if line.startswith("<!-- model-fleet:") and line.rstrip().endswith("start -->"):
            skipping = True
    return "".join(out)


def rows_naming(text: str, display_name: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith((f"| {display_name} |", f"| **{display_name}** |"))]


def test_hand_written_text_survives_add_change_and_removal_byte_for_byte(tmp_path):
    write_stack(tmp_path, stack(model("a", "Alpha"), docs=TIERS))
    assert run(tmp_path) == 0
    hand_written_page(tmp_path)
    expected_author_text = author_text((tmp_path / MODELS).read_text())

    steps = [
        stack(model("a", "Alpha"), model("b", "Beta"), docs=TIERS),  # add
        stack(model("a", "Alpha"), model("b", "Beta", **{"docs.best_for": "Changed"}), docs=TIERS),  # change
        stack(model("b", "Beta"), docs=TIERS),  # removal
        stack(model("b", "Beta")),  # tiers removed
    ]
    for raw in steps:
        write_stack(tmp_path, raw)
        assert run(tmp_path) == 0
        page = (tmp_path / MODELS).read_text()
        assert author_text(page) == expected_author_text
        assert page.startswith(INTRO) and BETWEEN in page and OUTRO in page

    assert "Changed" not in (tmp_path / MODELS).read_text()


def test_removal_takes_a_model_out_of_every_place_in_the_same_run(tmp_path):
    write_stack(tmp_path, stack(model("a", "Alpha"), model("b", "Beta"), docs=TIERS))
    assert run(tmp_path) == 0
    page, limits = (tmp_path / MODELS).read_text(), (tmp_path / LIMITS).read_text()
    assert len(rows_naming(page, "Alpha")) == 2 and len(rows_naming(limits, "Alpha")) == 1

    write_stack(tmp_path, stack(model("b", "Beta"), docs=TIERS))
    assert run(tmp_path) == 0

    page, limits = (tmp_path / MODELS).read_text(), (tmp_path / LIMITS).read_text()
    assert rows_naming(page, "Alpha") == [] and rows_naming(limits, "Alpha") == []
    assert len(rows_naming(page, "Beta")) == 2 and len(rows_naming(limits, "Beta")) == 1
    assert not any("real-time-a." in p.name for p in (tmp_path / "docs").rglob("*"))
    for quickstart in ("real-time", "batch"):
        assert '"Alpha"' not in (tmp_path / f"docs/get-started/start-building/{quickstart}.md").read_text()


def test_the_same_display_name_in_every_table_and_page(tmp_path):
    write_stack(tmp_path, stack(model("a", "Alpha [FP8] *fast*"), docs=TIERS))
    assert run(tmp_path) == 0

    shown = r"Alpha \[FP8\] \*fast\*"
    assert len(rows_naming((tmp_path / MODELS).read_text(), shown)) == 2
    assert f"| **{shown}** |" in (tmp_path / LIMITS).read_text()
    assert f'??? example "{shown}"' in (tmp_path / "docs/get-started/start-building/real-time.md").read_text()


def test_without_tiers_there_is_no_limits_file_and_nothing_includes_it(tmp_path):
    write_stack(tmp_path, stack(model("a", "Alpha"), docs=TIERS))
    assert run(tmp_path) == 0
    assert "--8<-- 'text/get-started/rate-limit.md'" in (tmp_path / MODELS).read_text()

    write_stack(tmp_path, stack(model("a", "Alpha")))
    assert run(tmp_path) == 0

    assert not (tmp_path / LIMITS).exists()
    assert not any("rate-limit" in p.read_text() for p in (tmp_path / "docs").rglob("*") if p.is_file())


def test_check_covers_the_models_page_and_the_limits_include(tmp_path, capsys):
    write_stack(tmp_path, stack(model("a", "Alpha"), docs=TIERS))
    assert run(tmp_path) == 0
    write_stack(tmp_path, stack(model("a", "Alpha"), model("b", "Beta"), docs=TIERS))
    capsys.readouterr()

    assert run(tmp_path, "--check") == 1

    out = capsys.readouterr().out
    assert "+++ b/get-started/models.md" in out and "+| Beta | `b` | Completion |" in out
    assert "+++ b/.snippets/text/get-started/rate-limit.md" in out and "+| **Beta** | — | — | 30 | — | — | — |" in out


def test_a_hand_written_limits_file_is_a_conflict_and_kept(tmp_path, capsys):
    write_stack(tmp_path, stack(model("a", "Alpha")))
    assert run(tmp_path) == 0
    (tmp_path / LIMITS).parent.mkdir(parents=True)
    (tmp_path / LIMITS).write_text("written by hand\n")
    write_stack(tmp_path, stack(model("a", "Alpha"), docs=TIERS))
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == (
        "docs: 1 problem found; nothing was changed\n"
        "  - docs.limit_tiers: .snippets/text/get-started/rate-limit.md exists but was not generated by model-fleet; move the file\n"
    )
    assert (tmp_path / LIMITS).read_text() == "written by hand\n"


@pytest.mark.parametrize(
    "blocks",
    [
        "<!-- model-fleet:names start -->\n",
        "<!-- model-fleet:names end -->\n<!-- model-fleet:names start -->\n",
        "<!-- model-fleet:names start -->\n<!-- model-fleet:names end -->\n<!-- model-fleet:names start -->\n<!-- model-fleet:names end -->\n",
    ],
)
def test_markers_that_cannot_delimit_a_block_are_a_problem_and_nothing_is_written(tmp_path, capsys, blocks):
    write_stack(tmp_path, stack(model("a", "Alpha")))
    assert run(tmp_path) == 0
    write_stack(tmp_path, stack(model("a", "Alpha"), model("b", "Beta")))
    (tmp_path / MODELS).write_text("# Models\n\n" + blocks)
    before = {p: p.read_bytes() for p in (tmp_path / "docs").rglob("*") if p.is_file()}
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == (
        "docs: 1 problem found; nothing was changed\n"
        "  - get-started/models.md: needs one line '<!-- model-fleet:names start -->' and, after it, one line "
        "'<!-- model-fleet:names end -->' around the generated block\n"
    )
    assert {p: p.read_bytes() for p in (tmp_path / "docs").rglob("*") if p.is_file()} == before


def test_nested_markers_are_a_problem_naming_the_page_and_lines_and_nothing_is_written(tmp_path, capsys):
    write_stack(tmp_path, stack(model("a", "Alpha")))
    assert run(tmp_path) == 0
    write_stack(tmp_path, stack(model("a", "Alpha"), model("b", "Beta")))
    (tmp_path / MODELS).write_text(
        "# Models\n\n<!-- model-fleet:names start -->\n<!-- model-fleet:comparison start -->\n"
        "<!-- model-fleet:comparison end -->\n<!-- model-fleet:names end -->\n"
    )
    before = {p: p.read_bytes() for p in (tmp_path / "docs").rglob("*") if p.is_file()}
    capsys.readouterr()

    assert run(tmp_path) == 1

    assert capsys.readouterr().err == (
        "docs: 1 problem found; nothing was changed\n"
        "  - get-started/models.md: block 'comparison' (lines 4-5) starts inside block 'names' (lines 3-6); "
        "close each generated block before the next one starts\n"
    )
    assert {p: p.read_bytes() for p in (tmp_path / "docs").rglob("*") if p.is_file()} == before


def test_pages_with_crlf_line_endings_converge_in_one_run(tmp_path, capsys):
    write_stack(tmp_path, stack(model("a", "Alpha"), docs=TIERS))
    assert run(tmp_path) == 0
    edited = [MODELS, Path("docs/get-started/start-building/real-time.md"), Path("docs/get-started/start-building/batch.md")]
    for path in edited:
        (tmp_path / path).write_bytes((tmp_path / path).read_bytes().replace(b"\n", b"\r\n"))
    write_stack(tmp_path, stack(model("a", "Alpha"), model("b", "Beta"), docs=TIERS))

    assert run(tmp_path) == 0
    capsys.readouterr()

    assert run(tmp_path, "--check") == 0
    for path in edited:
        text = (tmp_path / path).read_bytes()
        assert b"Beta" in text and b"\n" not in text.replace(b"\r\n", b"")


def test_while_a_canary_runs_the_models_page_says_which_version_serves_what_share(tmp_path):
    canary = {"version": "v2", "weight": 10, "image": "vllm/vllm-openai:v0.11.0"}
    coder, chat = model("coder", "Coder", canary=canary), model("chat", "Chat", **{"deployment_config.gpu_count": 1})
    write_stack(tmp_path, pooled_stack(coder, chat))
    assert run(tmp_path) == 0
    page = (tmp_path / MODELS).read_text()
    assert (
        "| Coder | `coder` | Completion |\n\n"
        "While a new version of a model rolls out, the requests to its model ID are shared between its versions:\n\n"
        "- Coder: 90% to the current version, 10% to version `v2`\n\n"
        "<!-- model-fleet:names end -->"
    ) in page
    # The snippets call the model by its model ID: the canary gets none of its own.
    snippets = {p.name for p in (tmp_path / "docs").rglob("*") if p.is_file()}
    assert not any("v2" in name for name in snippets)

    write_stack(tmp_path, pooled_stack(model("coder", "Coder"), chat))
    assert run(tmp_path) == 0
    assert "rolls out" not in (tmp_path / MODELS).read_text()
