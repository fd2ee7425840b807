"""Believable tenants for the test servers: ``business_central`` (and ``dataverse``), each a SQLite database seeded
with the same company's data and what its server needs to serve it."""
