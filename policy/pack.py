"""The rules of `policy.rules` as a Pulumi policy pack (pulumi-policy), served to the engine.

Each rule becomes a resource or stack validation policy of the same name, with its settings as
the policy's config schema (the engine checks a config file against it) and its default
enforcement level, which the config file for the stack's environment may change.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import rules

NAME = "model-fleet"
LEVELS = {
    "advisory": EnforcementLevel.ADVISORY,
    "mandatory": EnforcementLevel.MANDATORY,
    "remediate": EnforcementLevel.REMEDIATE,
    "disabled": EnforcementLevel.DISABLED,
}


def config_schema(settings: type[rules.Settings]) -> PolicyConfigSchema | None:
    """The settings' JSON schema, as the engine validates a config file against it."""
    schema = settings.model_json_schema()
    properties = {name: {k: v for k, v in prop.items() if k != "title"} for name, prop in schema.get("properties", {}).items()}
    return PolicyConfigSchema(properties=properties) if properties else None


def _report(violations: list[rules.Violation], report: ReportViolation) -> None:
    for violation in violations:
        report(violation.message, violation.urn or None)


def _resource(args: ResourceValidationArgs | PolicyResource) -> rules.Resource:
    """What a rule reads of a resource the engine passes (both kinds carry the options with the parent's URN)."""
    return rules.Resource(args.resource_type, args.name, args.props, args.urn, args.opts.parent or "")


def resource_policy(rule: rules.Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        _report(rule.run([_resource(args)], args.get_config()), report)

    return ResourceValidationPolicy(
        rule.name, rule.description, validate, enforcement_level=LEVELS[rule.level], config_schema=config_schema(rule.settings)
    )


def stack_policy(rule: rules.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        _report(rule.run([_resource(r) for r in args.resources], args.get_config()), report)

    return StackValidationPolicy(
        rule.name, rule.description, validate, enforcement_level=LEVELS[rule.level], config_schema=config_schema(rule.settings)
    )


def policies() -> list[Policy]:
    return [resource_policy(rule) if rule.kind == "resource" else stack_policy(rule) for rule in rules.RULES]


def serve() -> None:
    """Serve the pack to the engine (prints the port and blocks, as pulumi-policy does)."""
    PolicyPack(NAME, policies(), description="model-fleet's rules for the models a stack serves")
