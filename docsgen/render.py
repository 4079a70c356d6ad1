"""Snippet and page texts for the model entries, through one jinja2 Environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

import jinja2

from components.contract import docs_facts
from components.contract.spec import FULL_WEIGHT, Limits, LimitTier, ModelEntry, ModelType, StackSpec
from docsgen import escapes
from docsgen.escapes import Escaped

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("docsgen", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
    finalize=escapes.require_escaped,
    # The templates ship with the package: each is compiled once, never checked again on disk.
    auto_reload=False,
)


ENV.filters.update(escapes.FILTERS)

SNIPPETS_DIR = ".snippets"
INCLUDE_BASE = PurePosixPath("code/get-started/start-building")
PAGES_DIR = PurePosixPath("get-started/start-building")

ENDPOINTS = {
    ModelType.chat: "/v1/chat/completions",
    ModelType.completion: "/v1/completions",
    ModelType.embedding: "/v1/embeddings",
}
KIND_TEXT = {ModelType.chat: "chat completions", ModelType.completion: "text completions", ModelType.embedding: "embeddings"}
BATCH_PROMPTS = (
    ("You are an experienced cook.", "What is the ultimate breakfast sandwich?"),
    ("You are a maths tutor.", "Explain the Pythagorean theorem."),
    ("You are a multilingual, experienced maths tutor.", "Explain the Pythagorean theorem in Spanish."),
)


@dataclass(frozen=True)
class Snippet:
    """One snippet file: which page and section include it, and from where."""

    page: str  # "real-time" or "batch"
    section: str  # "Python" or "CLI"
    include: str  # path relative to the snippets folder, as written in `--8<--`
    template: str

    @property
    def language(self) -> str:
        return "python" if self.section == "Python" else "bash"


def snippets_for(entry: ModelEntry) -> list[Snippet]:
    return snippet_files(entry.name, entry.model_type)


def snippet_files(slug: str, model_type: ModelType) -> list[Snippet]:
    """The four snippets of a model named `slug`: real-time and batch, Python and bash."""
    kind = model_type.value
    real_time = INCLUDE_BASE / "real-time"
    batch = INCLUDE_BASE / "batch"
    return [
        Snippet("real-time", "Python", str(real_time / f"real-time-{slug}.py"), f"real-time/{kind}.py.j2"),
        Snippet("real-time", "CLI", str(real_time / f"real-time-{slug}.md"), f"real-time/{kind}.md.j2"),
        Snippet("batch", "Python", str(batch / f"batch-jsonl-{slug}.py"), "batch.py.j2"),
        Snippet("batch", "CLI", str(batch / f"batch-jsonl-{slug}.md"), "batch.md.j2"),
    ]


def _batch_body(model_type: ModelType, model_id: str, system: str, user: str) -> dict:
    if model_type is ModelType.chat:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        return {"model": model_id, "messages": messages, "max_completion_tokens": 1000}
    if model_type is ModelType.completion:
        return {"model": model_id, "prompt": user, "max_tokens": 200}
    return {"model": model_id, "input": user}


@dataclass(frozen=True)
class SnippetModel:
    """Everything a snippet template may use."""

    display_name: str
    model_id: str
    model_type: ModelType
    api_base_url: str
    platform_name: str

    @property
    def endpoint(self) -> str:
        return ENDPOINTS[self.model_type]

    @property
    def kind_text(self) -> str:
        return KIND_TEXT[self.model_type]

    @property
    def batch_requests(self) -> list[dict]:
        return [
            {
                "custom_id": f"request-{i}",
                "method": "POST",
                "url": self.endpoint,
                "body": _batch_body(self.model_type, self.model_id, system, user),
            }
            for i, (system, user) in enumerate(BATCH_PROMPTS, start=1)
        ]


def snippet_model(entry: ModelEntry, spec: StackSpec) -> SnippetModel:
    return SnippetModel(
        display_name=entry.display_name,
        model_id=entry.served_model_id,
        model_type=entry.model_type,
        api_base_url=spec.docs.api_base_url,
        platform_name=spec.docs.platform_name,
    )


def render_snippet(snippet: Snippet, model: SnippetModel) -> str:
    return ENV.get_template(snippet.template).render(m=model)


def render_entry(title: str, snippet: Snippet) -> str:
    """A page entry in the docs' format: a collapsed example holding the included snippet."""
    return f"??? example \"{escapes.markdown_text(title)}\"\n\n    ```{snippet.language}\n    --8<-- '{snippet.include}'\n    ```\n"


def render_page(page: str, spec: StackSpec) -> str:
    return ENV.get_template(f"pages/{page}.md.j2").render(docs=spec.docs)


def sort_key(entry: ModelEntry) -> tuple[str, str]:
    return entry.display_name.casefold(), entry.name


MODELS_PAGE = PurePosixPath("get-started/models.md")
RATE_LIMIT_INCLUDE = "text/get-started/rate-limit.md"
TYPE_TEXT = {ModelType.chat: "Chat", ModelType.completion: "Completion", ModelType.embedding: "Embedding"}
# The generated blocks of the models page, each rendered by models/<block>.md.j2.
MODELS_BLOCKS = ("names", "comparison", "limits")


@dataclass(frozen=True)
class TierTable:
    name: str
    rows: list[tuple[docs_facts.ModelFacts, Limits]]


@dataclass(frozen=True)
class Rollout:
    """A model whose canary takes `weight` percent of its requests, its own version the rest (`own`)."""

    display_name: str
    version: str
    weight: int

    @property
    def own(self) -> int:
        return FULL_WEIGHT - self.weight


def rollouts(spec: StackSpec) -> list[Rollout]:
    """The models the models page says are shared between two versions, in the page's order."""
    return [Rollout(e.display_name, e.canary.version, e.canary.weight) for e in sorted(spec.models, key=sort_key) if e.canary is not None]


def _models(spec: StackSpec) -> list[tuple[ModelEntry, docs_facts.ModelFacts]]:
    return [(entry, docs_facts.facts(entry)) for entry in sorted(spec.models, key=sort_key)]


def render_models_blocks(spec: StackSpec) -> dict[str, str]:
    """The content between the markers of each generated block of the models page, by block name."""
    models = [facts for _, facts in _models(spec)]
    return {
        block: ENV.get_template(f"models/{block}.md.j2").render(
            models=models,
            type_text=TYPE_TEXT,
            tiers=spec.docs.limit_tiers,
            include=Escaped(RATE_LIMIT_INCLUDE),
            rollouts=rollouts(spec),
        )
        for block in MODELS_BLOCKS
    }


def render_models_page(spec: StackSpec) -> str:
    return ENV.get_template("pages/models.md.j2").render(docs=spec.docs)


def _tier_table(tier: LimitTier, models: list[tuple[ModelEntry, docs_facts.ModelFacts]]) -> TierTable:
    return TierTable(tier.name, [(facts, docs_facts.tier_limits(facts, entry.docs, tier)) for entry, facts in models])


def render_rate_limits(spec: StackSpec) -> str:
    """The limits include: one table per tier, one row per model; only rendered when tiers exist."""
    models = _models(spec)
    return ENV.get_template("rate-limit.md.j2").render(tables=[_tier_table(tier, models) for tier in spec.docs.limit_tiers])
