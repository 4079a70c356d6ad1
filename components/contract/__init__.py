"""The config contract: what a stack file may say, read and checked.

`config.load` is the one way in: the stack files (`stack_files`, `strict_yaml`, `catalog`) or the
engine's config (`pulumi_config`), each entry validated against the schema (`spec`), then the
rules across fields and entries (`rules`), then the cluster (`preflight`, `live_cluster`); every
problem in one report (`problems`, worded by `field_problems`). Nothing here imports a builder.
"""
