"""The API's record card, Synchronize now options and Set up coupling lookup (what the card page shows)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from coupler.entrypoints.schemas.card import CardOut, IntegrationMatchOut, SyncOptionsOut
from coupler.entrypoints.web.deps import QueriesDep
from coupler.entrypoints.web.schemas.common import MAX_REFS, Ref
from coupler.services.views.integration_search import MAX_QUERY

__all__ = ["router"]

router = APIRouter(tags=["records"])

MappingName = Annotated[str, Path(min_length=1, max_length=100, description="The table mapping, e.g. CUSTOMER.")]
RecordRef = Annotated[str, Path(min_length=1, max_length=250, description="A key or display key of either side.")]


@router.get("/mappings/{mapping}/records/{ref}/card", response_model=CardOut)
def card(mapping: MappingName, ref: RecordRef, queries: QueriesDep) -> CardOut:
    """The record card: the local record beside its coupled integration record, field mapping by field mapping,
    with the direction, whether the values differ and which side changed them since the last synchronization."""
    return CardOut.of(queries.card(mapping, ref))


@router.get("/mappings/{mapping}/sync-options", response_model=SyncOptionsOut)
def sync_options(
    mapping: MappingName,
    queries: QueriesDep,
    ref: Annotated[
        list[Ref],
        Query(min_length=1, max_length=MAX_REFS, description="The records (repeat `ref`): keys or display keys."),
    ],
) -> SyncOptionsOut:
    """What Synchronize now offers for these coupled records: the directions, the default (by which side
    changed), a warning on a direction that would overwrite newer data, and merge unless both sides changed the
    same bidirectional field."""
    return SyncOptionsOut.of(queries.sync_options(mapping, ref))


@router.get("/mappings/{mapping}/integration-search", response_model=list[IntegrationMatchOut])
def integration_search(
    mapping: MappingName,
    queries: QueriesDep,
    q: Annotated[str, Query(max_length=MAX_QUERY, description="Name (exact or prefix, any case) or key.")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[IntegrationMatchOut]:
    """Integration records to couple with (the Set up coupling lookup), within the mapping's integration filter:
    exact matches of the name or key first, then names starting with the text; each says whether it is coupled."""
    return [IntegrationMatchOut.of(m) for m in queries.search_integration(mapping, q, limit=limit)]
