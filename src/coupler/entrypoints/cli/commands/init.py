"""`coupler init`: write a configuration template (Business Central <-> Dynamics 365 Sales) to start from."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from coupler.domain.errors import CouplerError
from coupler.entrypoints.cli.shell import JsonOption, app, emit, fail, out

CONFIG_FILE = "coupler.toml"  # coupler.templates.CONFIG_FILE, named here so that --help does not load the templates

__all__: list[str] = []


class TemplateChoice(StrEnum):
    bc_sales = "bc-sales"


@app.command()
def init(
    path: Annotated[
        Path, typer.Argument(help=f"The file to write, or a folder to write {CONFIG_FILE} into.", show_default=True)
    ] = Path(CONFIG_FILE),
    template: Annotated[
        TemplateChoice,
        typer.Option("--template", "-t", help="bc-sales: Business Central <-> Dynamics 365 Sales, default mappings."),
    ] = TemplateChoice.bc_sales,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    company: Annotated[str | None, typer.Option("--company", help="The Business Central company (name or id).")] = None,
    dataverse_company: Annotated[
        str | None,
        typer.Option(
            "--dataverse-company",
            help="For several companies against one Dataverse environment: the id of the company's bcbi_company "
            "record (coupler check shows it); records are then filtered and stamped by company.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write a coupler.toml from a template: both systems and Business Central's default mappings for Sales."""
    from coupler.templates import write_template

    try:
        written = write_template(
            template.value, path, force=force, company=company, dataverse_company=dataverse_company
        )
    except CouplerError as error:
        fail(error, 2, as_json)

    def human() -> None:
        out.print(f"Wrote {written} (template {template.value}).")
        out.print("Next: fill in the URLs, the company and the app registrations, set the secrets, then:")
        for line in ("export BC_CLIENT_SECRET=... DATAVERSE_CLIENT_SECRET=...", "coupler check", "coupler review"):
            out.print(f"  {line}")

    emit(as_json, {"config": str(written), "template": template.value}, human)
