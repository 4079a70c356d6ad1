"""What the docs say about a model: facts its vLLM command serves first, its `docs:` block for the rest.

A fact both can state (the context length) is taken from the command; the `docs:` block may
repeat it but not contradict it, so the docs never promise what the server refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.contract import vllm_args
from components.contract.spec import Limits, LimitTier, ModelDocs, ModelEntry, ModelType


@dataclass(frozen=True)
class ModelFacts:
    display_name: str
    model_id: str
    model_type: ModelType
    context_length: int | None
    max_output_tokens: int | None
    tool_calling: bool
    vision: bool
    reasoning: bool
    best_for: str


def facts(entry: ModelEntry) -> ModelFacts:
    config = entry.deployment_config
    cmdline = config.cmdline
    return ModelFacts(
        display_name=entry.display_name,
        model_id=entry.served_model_id,
        model_type=entry.model_type,
        context_length=cmdline.max_model_len or entry.docs.context_length,
        max_output_tokens=entry.docs.max_output_tokens,
        tool_calling=cmdline.tool_calling,
        vision=entry.docs.vision,
        reasoning=entry.docs.reasoning,
        best_for=entry.docs.best_for,
    )


def tier_limits(model: ModelFacts, docs: ModelDocs, tier: LimitTier) -> Limits:
    """The limits of one model in one tier: its own over the tier's default, then its facts."""
    own = docs.limits.get(tier.name, Limits())
    merged = {name: getattr(own, name) if getattr(own, name) is not None else getattr(tier.default, name) for name in Limits.model_fields}
    merged["context"] = merged["context"] or model.context_length
    merged["max_output"] = merged["max_output"] or model.max_output_tokens
    return Limits(**merged)


def contradictions(docs: ModelDocs, cmdline: vllm_args.VllmCommandLine) -> list[tuple[str, str]]:
    """(field under the entry, problem) for each `docs:` fact the command contradicts."""
    found = []
    served = cmdline.max_model_len
    if served is not None and docs.context_length is not None and docs.context_length != served:
        found.append(
            (
                "docs.context_length",
                f"{docs.context_length} tokens contradicts --max-model-len {served} in deployment_config: "
                "the docs show what the server serves; remove docs.context_length or make the two equal",
            )
        )
    context = served or docs.context_length
    if context is not None and docs.max_output_tokens is not None and docs.max_output_tokens > context:
        found.append(("docs.max_output_tokens", f"{docs.max_output_tokens} tokens is more than the context length of {context} tokens"))
    return found


def unknown_tiers(docs: ModelDocs, tiers: list[LimitTier]) -> list[tuple[str, str]]:
    """(field under the entry, problem) for each `docs.limits` key that names no tier."""
    names = [tier.name for tier in tiers]
    known = ", ".join(names) if names else "none"
    return [
        (f"docs.limits.{name}", f"no tier '{name}' in model-fleet:docs.limit_tiers (tiers: {known})")
        for name in docs.limits
        if name not in names
    ]


def _set_by_tier(entry: ModelEntry, tier: LimitTier, name: str) -> str | None:
    """Where a tier's limit is set: the entry's own `docs.limits`, the tier's default, or None (taken from the model)."""
    own = entry.docs.limits.get(tier.name, Limits())
    if getattr(own, name) is not None:
        return f"docs.limits.{tier.name}.{name}"
    if getattr(tier.default, name) is not None:
        return f"docs.limits.{tier.name}.{name} (the tier's default)"
    return None


def tier_contradictions(entry: ModelEntry, tiers: list[LimitTier]) -> list[tuple[str, str]]:
    """(field under the entry, problem) for each tier whose limits promise more than the model serves:
    a context above its served --max-model-len, a max output above the context. Values the tier
    takes from the model itself are checked by `contradictions`, once."""
    found: list[tuple[str, str]] = []
    try:
        served = entry.deployment_config.cmdline.max_model_len
    except vllm_args.VllmArgsError:
        return found  # the command's own problem is reported under deployment_config.args
    model = facts(entry)
    for tier in tiers:
        limits = tier_limits(model, entry.docs, tier)
        context_from, output_from = _set_by_tier(entry, tier, "context"), _set_by_tier(entry, tier, "max_output")
        if context_from and served is not None and limits.context is not None and limits.context > served:
            found.append(
                (
                    context_from,
                    f"tier '{tier.name}' promises {entry.name} a context of {limits.context} tokens, "
                    f"more than the --max-model-len {served} it serves",
                )
            )
        if (
            (context_from or output_from)
            and limits.context is not None
            and limits.max_output is not None
            and limits.max_output > limits.context
        ):
            found.append(
                (
                    output_from or context_from or "",
                    f"tier '{tier.name}' promises {entry.name} a max output of {limits.max_output} tokens, "
                    f"more than its context of {limits.context} tokens",
                )
            )
    return found
