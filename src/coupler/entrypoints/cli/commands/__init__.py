"""The commands, one module per group of what users do."""
