"""The deletion policies as one decision: what becomes of a coupled record whose partner is gone."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coupler.domain.deletions import MissingPartner, on_missing_partner
from coupler.domain.mapping import DeletePropagation, DeletionPolicy, Direction, FieldMapping, TableMapping, TableSpec

MAPPING = TableMapping(
    name="CUSTOMER",
    local=TableSpec(table="customers", key="id", modified_on="mod"),
    integration=TableSpec(table="account", key="accountid", modified_on="modifiedon"),
    direction=Direction.BIDIRECTIONAL,
    fields=(FieldMapping(local="displayName", integration="name", direction=Direction.BIDIRECTIONAL),),
)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (DeletionPolicy.NONE, MissingPartner.FAIL),
        (DeletionPolicy.RESTORE, MissingPartner.RESTORE),
        (DeletionPolicy.REMOVE_COUPLING, MissingPartner.DECOUPLE),
    ],
)
def test_business_centrals_deletion_conflict_resolution_decides_when_deletions_are_not_propagated(
    policy: DeletionPolicy, expected: MissingPartner
) -> None:
    mapping = replace(MAPPING, deletion_conflict=policy, delete=DeletePropagation.IGNORE)
    assert on_missing_partner(mapping) is expected


@pytest.mark.parametrize("policy", list(DeletionPolicy))
def test_a_propagating_mapping_waits_for_approval_whatever_its_conflict_policy(policy: DeletionPolicy) -> None:
    mapping = replace(MAPPING, deletion_conflict=policy, delete=DeletePropagation.PROPAGATE)
    assert on_missing_partner(mapping) is MissingPartner.AWAIT_APPROVAL
