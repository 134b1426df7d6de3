"""Who the caller is, for the web console: ``Query.viewer`` (name, role, regions or department,
and the actions the role may take, as services.auth decides them)."""

from __future__ import annotations

import strawberry

from graphql_api.errors import service_error
from services.auth import abilities


@strawberry.type(description="The caller as the bearer token names them.")
class Viewer:
    name: str
    role: str | None = strawberry.field(description="Null for an anonymous caller.")
    regions: list[str] = strawberry.field(description="A caseworker's region codes.")
    department: str | None = strawberry.field(description="A policy editor's department.")
    abilities: list[str] = strawberry.field(
        description="What the caller may do: evaluate, readRuleSets, seeDrafts, readHouseholds, "
                    "saveHouseholds, editRuleSets, approve, readAudit, readAlerts, resolveAlerts.")


@strawberry.type
class ViewerQuery:
    @strawberry.field(description="The caller (an unknown or revoked token is an error).")
    def viewer(self, info: strawberry.Info) -> Viewer:
        from services.auth import INVALID_ROLE
        from services.errors import Unauthenticated

        ctx = info.context
        p = ctx.principal
        if p.role == INVALID_ROLE:
            raise service_error(Unauthenticated("the bearer token is unknown or revoked"))
        return Viewer(name=p.name, role=p.role, regions=sorted(p.regions),
                      department=p.department, abilities=abilities(ctx.app.policy, p))
