"""The JSON shapes of coupler's results, one pydantic model per fact, shared by the CLI's ``--json`` and the REST API.

Each model is built once from the domain or service value (``JobReportOut.of(report)``) and dumped with
``model_dump(mode="json")``; the CLI's tables read the same models. Request bodies, which only the REST API takes,
live with the web app (``coupler.entrypoints.web.schemas``).
"""
