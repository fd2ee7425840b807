"""What the OData connectors share: queries, paged reads, ``$batch`` and the services' answers."""
