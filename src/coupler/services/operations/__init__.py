"""Coupling operations: couple, create, decouple, match-based coupling, and settling what needs attention."""
