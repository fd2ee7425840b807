"""The REST API's own JSON shapes: request bodies, and the answers only the web app gives (background tasks, the
connection state). The results it shares with the CLI are in ``coupler.entrypoints.schemas``."""
