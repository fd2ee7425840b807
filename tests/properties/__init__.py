"""Property-based proof of synchronization: random interleavings of edits, runs and crashes against a model."""
