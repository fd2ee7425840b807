"""Navigation properties: the names a write binds a lookup with (``<nav>@odata.bind``) and the many-to-one
relationships that declare them (``EntityDefinitions(LogicalName='contact')/ManyToOneRelationships``).

The names follow learn.microsoft.com/power-apps/developer/data-platform/webapi/web-api-navigation-properties:
a navigation property's name is the relationship's ``ReferencingEntityNavigationPropertyName`` and "is case
sensitive"; a multi-table lookup has "one single-valued navigation property for each type of table" it supports
(``parentcustomerid_account``, ``parentcustomerid_contact``); an owner lookup binds ``ownerid`` whatever the owner's
table (its relationship's ReferencedEntity is ``owner``); a custom lookup's name is usually its SchemaName
(``bcbi_CompanyId``), see ``DataverseTable.navigation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coupler.testing.dataverse.entities import EntitySet

__all__ = ["OWNER", "navigation_map", "relationships"]

OWNER = "ownerid"


def _logical(sets: Mapping[str, EntitySet], name: str) -> str:
    return sets[name].logical if name in sets else name


def navigation_map(entity_set: EntitySet, sets: Mapping[str, EntitySet]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Navigation property name -> (lookup column, the entity sets it may bind)."""
    config = entity_set.config
    names: dict[str, tuple[str, tuple[str, ...]]] = {}
    for column, targets in config.lookups.items():
        if len(targets) == 1 or column == OWNER:
            names[config.navigation.get(column, column)] = (column, tuple(targets))
            continue
        for target in targets:
            default = f"{column}_{_logical(sets, target)}"
            names[config.navigation.get(default, default)] = (column, (target,))
    return names


def relationships(entity_set: EntitySet, sets: Mapping[str, EntitySet]) -> list[dict[str, Any]]:
    """The ManyToOneRelationships of the table (OneToManyRelationshipMetadata, learn.microsoft.com/power-apps/
    developer/data-platform/webapi/reference/onetomanyrelationshipmetadata): one per lookup and target."""
    found = []
    for nav, (column, targets) in navigation_map(entity_set, sets).items():
        referenced = ["owner"] if column == OWNER else [_logical(sets, t) for t in targets]
        for target in referenced:
            found.append(_relationship(entity_set.logical, column, target, nav))
    found.append(_relationship(entity_set.logical, "modifiedby", "systemuser", "modifiedby"))
    return found


def _relationship(logical: str, column: str, target: str, nav: str) -> dict[str, Any]:
    return {
        "SchemaName": f"{target}_{logical}_{column}",
        "ReferencedEntity": target,
        "ReferencedAttribute": f"{target}id",
        "ReferencingEntity": logical,
        "ReferencingAttribute": column,
        "ReferencingEntityNavigationPropertyName": nav,
        "RelationshipType": "OneToManyRelationship",
        "MetadataId": None,
    }
