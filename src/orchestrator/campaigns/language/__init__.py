"""How a journey is read: YAML with source positions, steps, expressions, validation."""
