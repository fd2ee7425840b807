"""The in-memory state store: the fake every service test runs against."""
