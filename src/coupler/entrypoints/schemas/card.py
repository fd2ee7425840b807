"""The JSON shapes of the record card, the Synchronize now options and the Set up coupling lookup."""

from __future__ import annotations

from pydantic import Field

from coupler.domain.mapping import Direction, Side
from coupler.entrypoints.schemas.attention import ConflictOut
from coupler.entrypoints.schemas.base import Out, Value
from coupler.entrypoints.schemas.jobs import JobErrorOut
from coupler.entrypoints.schemas.records import CouplingOut, RecordOut
from coupler.services.views.card import CardField, RecordCard
from coupler.services.views.integration_search import IntegrationMatch
from coupler.services.views.sync_options import SyncChoice, SyncOption, SyncOptions

__all__ = ["CardFieldOut", "CardOut", "IntegrationMatchOut", "SyncOptionOut", "SyncOptionsOut"]


class CardFieldOut(Out):
    pair: str = Field(description="'local|integration' field names: the field mapping's identity.")
    caption: str = Field("", description="The field mapping's caption (else its local field's name).")
    local_field: str | None
    integration_field: str | None
    direction: Direction
    local_value: Value = Field(None, description="The local value (a constant's value when the field is a constant).")
    integration_value: Value = None
    differs: bool = Field(description="The field's source would write something other than what its target holds.")
    changed: list[Side] = Field(description="The sides that changed the field since the last synchronization.")
    note: str | None = Field(None, description="A constant, a lookup, or why the value cannot be computed.")

    @classmethod
    def of(cls, field: CardField) -> CardFieldOut:
        return cls.model_validate(field)


class CardOut(Out):
    mapping: str
    ref: str
    coupled: bool
    local_name: str | None = Field(description="The local record's display key (or key).")
    integration_name: str | None
    local: RecordOut | None
    integration: RecordOut | None
    coupling: CouplingOut | None
    conflict: ConflictOut | None = Field(description="The parked conflict, when the coupling is in conflict.")
    fields: list[CardFieldOut] = Field(description="One entry per enabled field mapping, in the mapping's order.")
    errors: list[JobErrorOut] = Field(description="The record's latest errors.")

    @classmethod
    def of(cls, card: RecordCard) -> CardOut:
        return cls(
            mapping=card.mapping.name,
            ref=card.ref,
            coupled=card.coupled,
            local_name=card.local_name,
            integration_name=card.integration_name,
            local=RecordOut.of(card.local),
            integration=RecordOut.of(card.integration),
            coupling=CouplingOut.of(card.coupling) if card.coupling else None,
            conflict=ConflictOut.of(card.conflict) if card.conflict else None,
            fields=[CardFieldOut.of(f) for f in card.fields],
            errors=[JobErrorOut.of(e) for e in card.errors],
        )


class SyncOptionOut(Out):
    choice: SyncChoice
    direction: Direction | None = Field(
        description="What to send as `direction` to POST /api/mappings/{mapping}/sync (null: merge by the rules)."
    )
    label: str
    warning: str | None = Field(None, description="Set when this choice overwrites newer data on its target.")

    @classmethod
    def of(cls, option: SyncOption) -> SyncOptionOut:
        return cls(choice=option.choice, direction=option.choice.direction, label=option.label, warning=option.warning)


class SyncOptionsOut(Out):
    mapping: str
    options: list[SyncOptionOut] = Field(description="The choices offered, in display order.")
    default: SyncChoice = Field(description="The choice to preselect: by which side changed.")
    records: int = Field(description="Coupled records the options are about.")
    uncoupled: list[str] = Field(description="References left out: not coupled, or naming no record.")
    merge_refused: str | None = Field(None, description="Why merge is not offered (both sides changed a field).")
    changed_local: list[str] = Field(description="Fields changed on the local side since the last synchronization.")
    changed_integration: list[str]

    @classmethod
    def of(cls, options: SyncOptions) -> SyncOptionsOut:
        return cls(
            mapping=options.mapping,
            options=[SyncOptionOut.of(o) for o in options.options],
            default=options.default,
            records=options.records,
            uncoupled=list(options.uncoupled),
            merge_refused=options.merge_refused,
            changed_local=list(options.changed_local),
            changed_integration=list(options.changed_integration),
        )


class IntegrationMatchOut(Out):
    key: str
    name: str = Field(description="The integration record's display name (or key).")
    exact: bool = Field(description="The name or key equals the search text (any case).")
    coupled_to: str | None = Field(None, description="The local record it is already coupled to, if any.")
    values: dict[str, Value]

    @classmethod
    def of(cls, match: IntegrationMatch) -> IntegrationMatchOut:
        return cls.model_validate(match)
