"""A local Dataverse Web API over SQLite."""
