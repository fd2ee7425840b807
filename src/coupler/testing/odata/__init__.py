"""What both test servers share: HTTP plumbing, entity paths, OData queries and paging, the SQLite store."""
