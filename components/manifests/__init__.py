"""Pure builders: a validated model entry in, a Kubernetes manifest (a plain dict) out.

Nothing here imports Pulumi, so every field can be tested and schema-checked on its own.
"""
