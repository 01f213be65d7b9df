"""How a journey runs: versions, the engine on a clock, policy decisions, review."""
