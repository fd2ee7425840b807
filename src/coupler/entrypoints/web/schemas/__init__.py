"""The JSON shapes of coupler's results (pydantic models)."""
