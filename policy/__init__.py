"""model-fleet's policy pack: the organisation's rules, enforced by the engine on every preview and update."""
