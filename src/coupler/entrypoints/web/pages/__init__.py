"""The HTML pages (Jinja2 + htmx), after Business Central's pages."""
