"""Snippets and pages for a stack: golden files, the docs walk-through's exact output, and runnable code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.contract import config
from docsgen import writer
from harness.factories import entry, stack

# Each test's tier is marked on it: `unit` runs in this process, `process` starts bash or a command.
GOLDEN = Path(__file__).parent / "golden"
SNIPPETS = Path(".snippets/code/get-started/start-building")

# The docs walk-through's model: no --served-model-name, so clients send the Hugging Face ID.
MISTRAL = {
    "name": "mistral-nemo-instruct-2407",
    "display_name": "Mistral Nemo Instruct 2407",
    "model_type": "chat",
    "huggingface_id": "mistralai/Mistral-Nemo-Instruct-2407",
    "requirements": {"cpu": "4", "memory": "32Gi", "gpu": {"min_vram": "24Gi"}},
    "deployment_config": {
        "image": "vllm/vllm-openai:v0.10.2",
        "command": ["vllm", "serve", "mistralai/Mistral-Nemo-Instruct-2407"],
        "args": ["--max-model-len", "32K"],
        "gpu_count": 1,
    },
    "docs": {
        "max_output_tokens": "4K",
        "best_for": "Chat | summaries in *many* languages",
        "limits": {"Free": {"requests_per_minute": 20, "max_output": "2K"}},
    },
}
EMBEDDING = {
    "name": "bge-m3",
    "display_name": "BGE M3",
    "model_type": "embedding",
    "huggingface_id": "BAAI/bge-m3",
    "requirements": {"cpu": "2", "memory": "8Gi"},
    "deployment_config": {"image": "vllm/vllm-openai:v0.10.2", "command": ["vllm", "serve", "BAAI/bge-m3"]},
    "docs": {"context_length": 8192},
}
# The seed's command has no --max-model-len: the docs block states the model's own context length.
SEED_DOCS = {"docs": {"context_length": "256K", "max_output_tokens": "64k", "reasoning": True, "best_for": "Agentic coding"}}
LIMIT_TIERS = [
    {"name": "Free", "default": {"requests_per_minute": 30, "tokens_per_minute": 100000, "concurrent_requests": 2, "batch_queue": 1000}},
    {"name": "Standard", "default": {"requests_per_minute": 600, "tokens_per_minute": 2000000, "concurrent_requests": 20}},
]
DOCS = {"api_base_url": "https://api.kluster.ai/v1", "platform_name": "kluster.ai", "limit_tiers": LIMIT_TIERS}


def golden_spec():
    return config.load(stack(MISTRAL, entry(**SEED_DOCS), EMBEDDING, docs=DOCS), source="t").spec


def generate(tmp_path: Path) -> dict[Path, str]:
    plan = writer.plan(golden_spec(), tmp_path)
    writer.apply(plan)
    return {p: (tmp_path / p).read_text() for p in sorted(plan.writes)}


@pytest.mark.unit
def test_output_matches_golden_files(tmp_path, update_golden):
    files = generate(tmp_path)
    if update_golden:
        for path, text in files.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text)
        # A golden file the generator no longer writes goes, with any folder it leaves empty.
        for stale in [p for p in GOLDEN.rglob("*") if p.is_file() and p.relative_to(GOLDEN) not in files]:
            stale.unlink()
        for folder in sorted((p for p in GOLDEN.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
    expected = sorted(p.relative_to(GOLDEN) for p in GOLDEN.rglob("*") if p.is_file())
    assert sorted(files) == expected
    for path, text in files.items():
        assert text == (GOLDEN / path).read_text(), f"{path} differs from its golden file (run pytest --update-golden on purpose)"


@pytest.mark.unit
def test_walk_through_model_gets_the_four_files_and_page_entries_it_describes(tmp_path):
    files = generate(tmp_path)
    assert {p for p in files if "mistral" in p.name} == {
        SNIPPETS / "real-time/real-time-mistral-nemo-instruct-2407.py",
        SNIPPETS / "real-time/real-time-mistral-nemo-instruct-2407.md",
        SNIPPETS / "batch/batch-jsonl-mistral-nemo-instruct-2407.py",
        SNIPPETS / "batch/batch-jsonl-mistral-nemo-instruct-2407.md",
    }
    for page, kind, prefix in (("real-time", "real-time", "real-time"), ("batch", "batch", "batch-jsonl")):
        text = files[Path(f"get-started/start-building/{page}.md")]
        for language, ext in (("python", "py"), ("bash", "md")):
            assert (
                '??? example "Mistral Nemo Instruct 2407"\n\n'
                f"    ```{language}\n"
                f"    --8<-- 'code/get-started/start-building/{kind}/{prefix}-mistral-nemo-instruct-2407.{ext}'\n"
                "    ```\n"
            ) in text
    for path, text in files.items():
        if "mistral" in path.name:
            assert 'model": "mistralai/Mistral-Nemo-Instruct-2407"' in text or 'model="mistralai/Mistral-Nemo-Instruct-2407"' in text


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "model_id", "endpoint"),
    [
        ("mistral-nemo-instruct-2407", "mistralai/Mistral-Nemo-Instruct-2407", "/chat/completions"),
        ("qwen3-coder-30b", "qwen3-coder-30b", "/completions"),
        ("bge-m3", "BAAI/bge-m3", "/embeddings"),
    ],
)
def test_every_snippet_calls_its_models_api_with_the_served_model_id(tmp_path, name, model_id, endpoint):
    files = generate(tmp_path)
    mine = {p: t for p, t in files.items() if name in p.name}
    assert len(mine) == 4
    for path, text in mine.items():
        assert f'"{model_id}"' in text, path
        others = {"mistralai/Mistral-Nemo-Instruct-2407", "qwen3-coder-30b", "BAAI/bge-m3"} - {model_id}
        assert not any(f'"{other}"' in text for other in others), path
        if path.parent.name == "batch":
            assert text.count(f'"/v1{endpoint}"') >= 3 + 1, path  # three requests and the batch endpoint
            assert [f"request-{i}" in text for i in (1, 2, 3, 4)] == [True, True, True, False]


@pytest.mark.process
def test_python_snippets_compile_and_bash_snippets_parse(tmp_path):
    files = generate(tmp_path)
    for path, text in files.items():
        if path.suffix == ".py":
            compile(text, str(path), "exec")
            assert '"""' not in text, f"stray docstring in {path}"
        elif path.parts[:2] == (".snippets", "code") and path.suffix == ".md":
            assert text.startswith("#!/bin/bash\n")
            result = subprocess.run(["bash", "-n", str(tmp_path / path)], capture_output=True, text=True)
            assert result.returncode == 0, result.stderr


@pytest.mark.process
def test_bash_snippets_stop_with_a_clear_message_without_api_key(tmp_path):
    generate(tmp_path)
    for script in sorted((tmp_path / SNIPPETS).rglob("*.md")):
        result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
        assert result.returncode == 1, script
        assert result.stderr.startswith("Error: API_KEY environment variable is not set."), script
        assert result.stdout == ""
