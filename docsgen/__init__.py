"""Docs generation: the snippets and quickstart pages users copy, regenerated from the stack config."""
