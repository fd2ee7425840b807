"""The synchronization engine: jobs, one-way runs, chunks of records, creation, lookups, deletions."""
