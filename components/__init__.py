"""The model-fleet components: config contract, builders, the ModelDeployment component and the preflight."""
