"""Docs facts of a model entry: taken from its vLLM command, its `docs:` block may not contradict them."""

from __future__ import annotations

import pytest

from components.contract import config, docs_facts
from components.contract.spec import ModelType
from harness.factories import entry, problems_of, stack

pytestmark = pytest.mark.unit

SCRIPT = (
    "python3 -m vllm.entrypoints.openai.api_server --port 8000 --model Qwen/Qwen3-Coder-30B-A3B-Instruct-FP8 "
    "--served-model-name qwen3-coder-30b"
)


def served(script: str = SCRIPT, **overrides) -> dict:
    return entry(**{"deployment_config.args": ["-c", script], **overrides})


def test_context_length_and_tool_calling_come_from_the_command():
    raw = stack(served(SCRIPT + " --max-model-len 32k --enable-auto-tool-choice --tool-call-parser qwen3_coder"))
    [model] = config.load(raw, source="t").spec.models

    found = docs_facts.facts(model)

    assert (found.model_id, found.model_type, found.context_length, found.tool_calling) == (
        "qwen3-coder-30b",
        ModelType.completion,
        32000,
        True,
    )


def test_docs_block_gives_what_the_command_cannot_tell():
    docs = {"context_length": "256K", "max_output_tokens": "64k", "vision": True, "reasoning": True, "best_for": "Agentic coding"}
    [model] = config.load(stack(served(docs=docs)), source="t").spec.models

    found = docs_facts.facts(model)

    assert (found.context_length, found.max_output_tokens, found.vision, found.reasoning, found.best_for, found.tool_calling) == (
        262144,
        64000,
        True,
        True,
        "Agentic coding",
        False,
    )


def test_docs_may_repeat_what_the_command_serves():
    [model] = config.load(stack(served(SCRIPT + " --max-model-len=32768", docs={"context_length": "32K"})), source="t").spec.models
    assert docs_facts.facts(model).context_length == 32768


def test_context_length_contradicting_the_command_names_both():
    raw = stack(served(SCRIPT + " --max-model-len 32768", docs={"context_length": "128k"}))

    assert problems_of(raw) == [
        "models[0] (qwen3-coder-30b) docs.context_length: 128000 tokens contradicts --max-model-len 32768 in "
        "deployment_config: the docs show what the server serves; remove docs.context_length or make the two equal"
    ]


def test_contradiction_is_found_inside_a_shell_script_with_the_suffix_form():
    raw = stack(served(f'exec {SCRIPT} --max-model-len "16K"', docs={"context_length": 16000}))

    [problem] = problems_of(raw)
    assert problem.startswith("models[0] (qwen3-coder-30b) docs.context_length: 16000 tokens contradicts --max-model-len 16384 ")


def test_max_output_beyond_the_context_length():
    raw = stack(served(SCRIPT + " --max-model-len 8k", docs={"max_output_tokens": "16k"}))

    assert problems_of(raw) == [
        "models[0] (qwen3-coder-30b) docs.max_output_tokens: 16000 tokens is more than the context length of 8000 tokens"
    ]


def test_contradiction_is_reported_even_when_another_field_of_the_entry_is_invalid():
    raw = stack(served(SCRIPT + " --max-model-len 4096", docs={"context_length": 8192}, display_name=""))

    assert problems_of(raw) == [
        "models[0] (qwen3-coder-30b) display_name: must not be empty",
        "models[0] (qwen3-coder-30b) docs.context_length: 8192 tokens contradicts --max-model-len 4096 in "
        "deployment_config: the docs show what the server serves; remove docs.context_length or make the two equal",
    ]


@pytest.mark.parametrize(
    ("docs", "expected"),
    [
        ({"context_length": "lots"}, "docs.context_length: 'lots' is not a token count: a whole number, or one with a suffix"),
        ({"context_length": 0}, "docs.context_length: Input should be greater than or equal to 1"),
        ({"max_output_tokens": True}, "docs.max_output_tokens: true is a boolean, not a whole number"),
        ({"best_for": "Code\nreview"}, "docs.best_for: must be one line of printable characters"),
        (
            {"limits": {"Free": {"requests_per_minute": -1}}},
            "docs.limits.Free.requests_per_minute: Input should be greater than or equal to 0",
        ),
        ({"vison": True}, "docs.vison: unknown key 'vison' (did you mean 'vision'?)"),
    ],
)
def test_docs_block_fields_are_checked(docs, expected):
    tiers = {"limit_tiers": [{"name": "Free"}]}
    [problem] = problems_of(stack(served(docs=docs), docs=tiers))
    assert problem.startswith(f"models[0] (qwen3-coder-30b) {expected}")


def test_limits_of_a_tier_that_does_not_exist():
    raw = stack(served(docs={"limits": {"Pro": {"requests_per_minute": 60}}}), docs={"limit_tiers": [{"name": "Free"}]})

    assert problems_of(raw) == ["models[0] (qwen3-coder-30b) docs.limits.Pro: no tier 'Pro' in model-fleet:docs.limit_tiers (tiers: Free)"]


def test_tier_names_are_unique_whatever_their_case():
    raw = stack(docs={"limit_tiers": [{"name": "Free"}, {"name": "free"}]})

    assert problems_of(raw) == ["docs.limit_tiers: tier name 'free' of limit_tiers[1] is already used by limit_tiers[0]"]


def test_tier_limits_are_the_models_own_over_the_default_then_its_facts():
    docs = {"max_output_tokens": "4k", "limits": {"Free": {"requests_per_minute": 30, "context": "16k"}}}
    tiers = [{"name": "Free", "default": {"requests_per_minute": 10, "tokens_per_minute": 1000}}, {"name": "Pro"}]
    loaded = config.load(stack(served(SCRIPT + " --max-model-len 32k", docs=docs), docs={"limit_tiers": tiers}), source="t")
    [model] = loaded.spec.models
    free, pro = loaded.spec.docs.limit_tiers

    in_free = docs_facts.tier_limits(docs_facts.facts(model), model.docs, free)
    in_pro = docs_facts.tier_limits(docs_facts.facts(model), model.docs, pro)

    assert in_free.model_dump() == {
        "context": 16000,
        "max_output": 4000,
        "requests_per_minute": 30,
        "tokens_per_minute": 1000,
        "concurrent_requests": None,
        "batch_queue": None,
    }
    assert (in_pro.context, in_pro.max_output, in_pro.requests_per_minute) == (32000, 4000, None)


@pytest.mark.parametrize(
    ("docs", "tier_default", "expected"),
    [
        (
            {"limits": {"Free": {"context": "64k"}}},
            {},
            "docs.limits.Free.context: tier 'Free' promises qwen3-coder-30b a context of 64000 tokens, "
            "more than the --max-model-len 32000 it serves",
        ),
        (
            {},
            {"context": "128k"},
            "docs.limits.Free.context (the tier's default): tier 'Free' promises qwen3-coder-30b a context of 128000 tokens, "
            "more than the --max-model-len 32000 it serves",
        ),
        (
            {"limits": {"Free": {"context": "8k", "max_output": "16k"}}},
            {},
            "docs.limits.Free.max_output: tier 'Free' promises qwen3-coder-30b a max output of 16000 tokens, more than its context of 8000 tokens",
        ),
        (
            {"max_output_tokens": "8k"},
            {"context": "4k"},
            "docs.limits.Free.context (the tier's default): tier 'Free' promises qwen3-coder-30b a max output of 8000 tokens, "
            "more than its context of 4000 tokens",
        ),
    ],
    ids=["own-context", "default-context", "own-max-output", "default-context-below-the-models-max-output"],
)
def test_a_tier_never_promises_more_than_the_server_serves(docs, tier_default, expected):
    raw = stack(served(SCRIPT + " --max-model-len 32k", docs=docs), docs={"limit_tiers": [{"name": "Free", "default": tier_default}]})

    assert problems_of(raw) == [f"models[0] (qwen3-coder-30b) {expected}"]


def test_a_tier_within_what_the_server_serves_is_fine_and_a_models_own_excess_is_reported_once():
    within = {"limits": {"Free": {"context": "32k", "max_output": "4k"}}}
    config.load(stack(served(SCRIPT + " --max-model-len 32k", docs=within), docs={"limit_tiers": [{"name": "Free"}]}), source="t")

    too_long = stack(served(SCRIPT + " --max-model-len 32k", docs={"max_output_tokens": "64k"}), docs={"limit_tiers": [{"name": "Free"}]})
    assert problems_of(too_long) == [
        "models[0] (qwen3-coder-30b) docs.max_output_tokens: 64000 tokens is more than the context length of 32000 tokens"
    ]


def test_a_command_that_cannot_be_read_is_one_problem_with_tiers_too():
    raw = stack(served(SCRIPT + " --max-model-len"), docs={"limit_tiers": [{"name": "Free", "default": {"context": "8k"}}]})

    [problem] = problems_of(raw)

    assert problem.startswith("models[0] (qwen3-coder-30b) deployment_config.args: ")
