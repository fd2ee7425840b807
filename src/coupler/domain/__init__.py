"""The pure domain: mappings, couplings, change detection and sync planning. Standard library only."""
