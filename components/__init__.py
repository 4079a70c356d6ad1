"""model-fleet's program, one package a layer, each importing only the layers below it:

contract/   the config contract: stack files and the catalog in, a validated StackSpec or one
            report of every problem out (the schema, the rules, the cluster preflight)
manifests/  the builders: pure functions from a model entry to one Kubernetes object each
model_deployment.py, details.py
            the ModelDeployment component, and what the stack reports about each model
files/      files written whole: the record of generated files, render mode's manifests
commands/   `python -m components ...`: check, status, models, diff, promote, render, pr-preview
engine/     the Pulumi engine: finding it, building it, running the program with it
"""
