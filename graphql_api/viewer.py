"""Who the caller is, for the web console: ``Query.viewer`` (name, role, regions or department,
and the actions the role may take, as services.auth decides them)."""

from __future__ import annotations

from enum import Enum
from typing import cast

import strawberry

from graphql_api.errors import service_error
from services.auth import abilities


@strawberry.enum(description="A token's role (policy-engine token create --role). 角色。")
class Role(Enum):
    CASEWORKER = strawberry.enum_value("caseworker", description=(
        "经办人员 / Caseworker: evaluates; the households, alerts and cases of their own "
        "regions."))
    POLICY_EDITOR = strawberry.enum_value("policy_editor", description=(
        "政策编辑 / Policy editor: drafts of their department's rule sets."))
    POLICY_APPROVER = strawberry.enum_value("policy_approver", description=(
        "政策审批 / Policy approver: submits, publishes and retires versions."))
    AUDITOR = strawberry.enum_value("auditor", description=(
        "审计 / Auditor: reads everything, the audit log included; changes nothing."))
    API_CLIENT = strawberry.enum_value("api_client", description=(
        "对接系统 / API client: another system (evaluations; households of its regions)."))
    TOWNSHIP_OFFICER = strawberry.enum_value("township_officer", description=(
        "乡镇干部 / Township officer: the township review of monitoring cases in their "
        "regions."))
    COUNTY_OFFICER = strawberry.enum_value("county_officer", description=(
        "县级干部 / County officer: the county approval of monitoring cases in their regions."))


_ROLES: dict[str, Role] = {cast(str, r.value): r for r in Role}


@strawberry.type(description="The caller as the bearer token names them.")
class Viewer:
    name: str
    role: str | None = strawberry.field(
        description="Null for an anonymous caller.",
        deprecation_reason="Use userRole, the same role as a Role value (role stays while "
        "clients move: add, deprecate, then remove). 请改用 userRole。")

    @strawberry.field(description="The caller's role; null for an anonymous caller. 角色。")
    def user_role(self) -> Role | None:
        return _ROLES.get(self.role) if self.role else None
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
