"""model-fleet's program, one package a layer, each importing only the layers below it:

contract/   the config contract: stack files and the catalog in, a validated StackSpec or one
            report of every problem out (the schema, the rules, the cluster preflight)
files/      generated files written whole or not at all, with a record of what was written
manifests/  the builders: pure functions from a model entry to one Kubernetes object each
model_deployment.py, details.py, manifest_files.py
            the ModelDeployment component, what the stack reports about each model, and the same
            objects as files in render mode
commands/   `python -m components ...`: check, status, models, diff, promote, render, pr-preview
engine/     the Pulumi engine: finding it, building it, running the program with it
"""
