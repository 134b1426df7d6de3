"""Who is calling, and what they may do. Every authorization decision is made here, once.

Roles (the public contract): ``caseworker`` (evaluate; households, determinations and alerts of
their own region codes only), ``policy_editor`` (drafts of their department's rule sets),
``policy_approver`` (submit, publish, retire), ``auditor`` (read-only, audit log),
``api_client`` (evaluate only). In ``dev`` an anonymous caller may evaluate and read rule sets.

Monitoring cases add two roles scoped by region as caseworkers are: ``township_officer``
(乡镇审核: reads the households and cases of their township and decides a case's township
review) and ``county_officer`` (县级审定: the same for their county, and decides the county
approval). A caseworker opens cases, records their steps up to the village review and decides
those; the county approval is made by another user than the township review (four eyes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from services.errors import Forbidden, NotFoundError, Unauthenticated

INVALID_ROLE = "invalid"  # a token was sent but is unknown or revoked
ROLES = ("caseworker", "policy_editor", "policy_approver", "auditor", "api_client",
         "township_officer", "county_officer")
# Roles whose tokens name regions and who see the households and cases of those regions.
REGIONAL_ROLES = ("caseworker", "township_officer", "county_officer")
# Who decides each step of a monitoring case (policy.procedure.STEPS).
STEP_ROLES = {"VERIFICATION": "caseworker", "COMPARISON": "caseworker",
              "VILLAGE_REVIEW": "caseworker", "TOWNSHIP_REVIEW": "township_officer",
              "COUNTY_APPROVAL": "county_officer"}
# What a refusal calls roles, steps and actions in Chinese (the console's names).
ROLE_ZH = {"caseworker": "乡镇/村干部", "policy_editor": "政策编辑",
           "policy_approver": "政策审批人", "auditor": "审计人员", "api_client": "接口客户端",
           "township_officer": "乡镇审核人员", "county_officer": "县级审定人员"}
STEP_ZH = {"VERIFICATION": "入户核实", "COMPARISON": "信息比对", "VILLAGE_REVIEW": "村级评议",
           "TOWNSHIP_REVIEW": "乡镇审核", "COUNTY_APPROVAL": "县级审定"}
ACTION_ZH = {"publish": "发布", "retire": "停用", "reject": "退回", "review": "审核",
             "submit": "提交"}
CASE_WORK_ZH = {"open monitoring cases": "发起监测案件", "record visits": "记录走访",
                "record assistance measures": "记录帮扶措施"}


def _role(role: str | None) -> str:
    return ROLE_ZH.get(role or "", role or "匿名用户")


@dataclass(frozen=True)
class Principal:
    """The caller: a user (``name`` is their normalised login, ``user_id`` their id) acting
    through one token's role and scope."""

    name: str
    role: str | None  # None: anonymous
    regions: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None
    token_id: str | None = None
    user_id: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def actor(self) -> str:
        """How the audit log names the caller (never a token)."""
        return self.name if self.role is None else f"{self.role}:{self.name}"


ANONYMOUS = Principal(name="anonymous", role=None)


def in_region(region_code: str, regions: Collection[str]) -> bool:
    """A caseworker of ``371300`` sees ``371300-001``; of ``371300-001`` only that village.

    The one place the region rule is written: a region covers itself and the codes below it
    after a ``-``, never a code that merely starts with the same digits (``371300-0011`` is not
    in ``371300-001``).

    >>> in_region("371300-001", {"371300"}), in_region("371300-0011", {"371300-001"})
    (True, False)
    """
    return any(region_code == r or region_code.startswith(r + "-") for r in regions)


def covered_codes(regions: Collection[str], stored: Iterable[str]) -> list[str]:
    """The given region codes and every stored code inside one of them, sorted.

    >>> covered_codes(["371300-001"], ["371300-001", "371300-0011", "371300-001-02"])
    ['371300-001', '371300-001-02']
    """
    return sorted(set(regions) | {c for c in stored if in_region(c, regions)})


class Policy:
    """The decisions. ``dev`` lets anonymous callers evaluate and read rule sets."""

    def __init__(self, dev: bool):
        self.dev = dev

    def _known(self, p: Principal) -> None:
        if p.anonymous:
            raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
        self._valid(p)

    def require_token(self, p: Principal) -> None:
        """A valid token, whatever its role: what every mutation and subscription, and outside
        ``dev`` every query, needs before anything else is looked at."""
        self._known(p)

    @staticmethod
    def _valid(p: Principal) -> None:
        if p.role == INVALID_ROLE:
            raise Unauthenticated("the bearer token is unknown or revoked")

    def evaluate(self, p: Principal) -> None:
        self._valid(p)
        if p.anonymous:
            if not self.dev:
                self._known(p)
            return
        if p.role not in ("caseworker", "api_client", "policy_editor", "policy_approver",
                          "auditor", "township_officer", "county_officer"):
            raise Forbidden(f"role {p.role} may not evaluate",
                            zh=f"{_role(p.role)}不能核查家庭")

    def read_rule_sets(self, p: Principal) -> None:
        self._valid(p)
        if p.anonymous and not self.dev:
            self._known(p)

    def see_drafts(self, p: Principal) -> bool:
        return p.role in ("policy_editor", "policy_approver", "auditor")

    def read_households(self, p: Principal) -> None:
        self._known(p)
        if p.role not in (*REGIONAL_ROLES, "auditor"):
            raise Forbidden(f"role {p.role} may not read stored households",
                            zh=f"{_role(p.role)}不能查看已存储的家庭")

    def household_visible(self, p: Principal, region_code: str) -> bool:
        if p.role == "auditor":
            return True
        return p.role in REGIONAL_ROLES and in_region(region_code, p.regions)

    def read_household(self, p: Principal, region_code: str, what: str, ident: str) -> None:
        self.read_households(p)
        if not self.household_visible(p, region_code):
            # Not "forbidden": another region's objects are not acknowledged to exist.
            raise NotFoundError(f"no {what} {ident!r}")

    def household_visible_everywhere(self, p: Principal) -> bool:
        """May ``p`` read every stored household, whatever its region (auditors)?"""
        return p.role == "auditor"

    def region_filter(self, p: Principal) -> frozenset[str] | None:
        """The regions a listing is restricted to (None: all)."""
        return None if p.role == "auditor" else p.regions

    # Role checks made before the object is looked up: who may not do this at all learns
    # nothing about whether the object exists (authentication, then authorization, then
    # existence, then validation).

    def write_households(self, p: Principal) -> None:
        self._known(p)
        if p.role != "caseworker":
            raise Forbidden(f"role {p.role} may not save households",
                            zh=f"{_role(p.role)}不能保存家庭信息")

    def edit_rule_sets(self, p: Principal) -> None:
        self._known(p)
        if p.role != "policy_editor":
            raise Forbidden(f"role {p.role} may not edit rule sets",
                            zh=f"{_role(p.role)}不能编辑规则集")

    def review_rule_sets(self, p: Principal) -> None:
        self._known(p)
        if p.role not in ("policy_editor", "policy_approver", "auditor"):
            raise Forbidden(f"role {p.role} may not validate, test or preview rule sets",
                            zh=f"{_role(p.role)}不能校验、测试或预览规则集")

    def submit_rule_sets(self, p: Principal) -> None:
        self._known(p)
        if p.role not in ("policy_editor", "policy_approver"):
            raise Forbidden(f"role {p.role} may not submit versions",
                            zh=f"{_role(p.role)}不能提交版本")

    def write_household(self, p: Principal, region_code: str) -> None:
        self._known(p)
        if p.role != "caseworker":
            raise Forbidden(f"role {p.role} may not save households",
                            zh=f"{_role(p.role)}不能保存家庭信息")
        if not in_region(region_code, p.regions):
            raise Forbidden(f"region {region_code} is not one of your regions "
                            f"({', '.join(sorted(p.regions)) or 'none'})",
                            zh=f"行政区划 {region_code} 不在您的管辖区域内"
                            f"（{'、'.join(sorted(p.regions)) or '无'}）")

    def edit_rule_set(self, p: Principal, owner: str) -> None:
        self._known(p)
        if p.role != "policy_editor":
            raise Forbidden(f"role {p.role} may not edit rule sets",
                            zh=f"{_role(p.role)}不能编辑规则集")
        if p.department != owner:
            raise Forbidden(f"this rule set belongs to {owner}; you edit {p.department}'s",
                            zh=f"该规则集属于{owner}，您只能编辑{p.department}的规则集")

    def may_approve(self, p: Principal, action: str) -> None:
        """The role check of ``approve``, made before the version is looked up, so a caller
        who may not approve anything learns nothing of which versions exist."""
        self._known(p)
        if p.role != "policy_approver":
            raise Forbidden(f"role {p.role} may not {action} versions; the policy approvers "
                            "of the rule set's department do",
                            zh=f"{_role(p.role)}不能{ACTION_ZH.get(action, action)}版本，"
                            "须由规则集所属部门的政策审批人办理")

    def approve(self, p: Principal, owner: str, action: str) -> None:
        """Publish, retire or reject (``action``) a version of a rule set of ``owner``: the
        policy approvers of that department, as editors are scoped to theirs."""
        self.may_approve(p, action)
        if p.department != owner:
            raise Forbidden(f"this rule set belongs to {owner}; you approve "
                            f"{p.department or 'no department'}'s",
                            zh=f"该规则集属于{owner}，您只能审批"
                            f"{p.department or '（无部门）'}的规则集")

    def submit(self, p: Principal, owner: str) -> None:
        """Send a draft for review: the department's editors and approvers."""
        self._known(p)
        if p.role == "policy_approver":
            self.approve(p, owner, "submit")
            return
        if p.role != "policy_editor":
            raise Forbidden(f"role {p.role} may not submit versions; the policy editors and "
                            f"approvers of the owning department ({owner}) do",
                            zh=f"{_role(p.role)}不能提交版本，须由{owner}的政策编辑或政策审批人提交")
        self.edit_rule_set(p, owner)

    def read_audit(self, p: Principal) -> None:
        self._known(p)
        if p.role != "auditor":
            raise Forbidden("only auditors read the audit log", zh="只有审计人员可以查看审计日志")

    def ingest_events(self, p: Principal) -> None:
        self._known(p)
        if p.role not in ("api_client", "caseworker"):
            raise Forbidden(f"role {p.role} may not ingest events",
                            zh=f"{_role(p.role)}不能上报部门事件")

    # -- early warning -----------------------------------------------------------------------

    def read_alerts(self, p: Principal) -> None:
        """Caseworkers, township and county officers (who review the cases alerts lead to) and
        api_clients read the alerts of their regions, auditors all; nobody else."""
        self._known(p)
        if p.role not in (*REGIONAL_ROLES, "auditor", "api_client"):
            raise Forbidden(f"role {p.role} may not read alerts",
                            zh=f"{_role(p.role)}不能查看预警")

    def alert_visible(self, p: Principal, region_code: str) -> bool:
        if p.role == "auditor":
            return True
        return p.role in (*REGIONAL_ROLES, "api_client") and in_region(region_code, p.regions)

    def read_alert(self, p: Principal, region_code: str, ident: str) -> None:
        self.read_alerts(p)
        if not self.alert_visible(p, region_code):
            raise NotFoundError(f"no alert {ident!r}")

    def resolve_alert(self, p: Principal, region_code: str, ident: str) -> None:
        """Only a caseworker of the household's region acts on its alert; api_clients,
        officers and auditors read, never act."""
        self.read_alert(p, region_code, ident)
        if p.role != "caseworker":
            raise Forbidden(f"role {p.role} may read alerts but not act on them",
                            zh=f"{_role(p.role)}可以查看预警，但不能处理")

    # -- monitoring cases --------------------------------------------------------------------

    def read_cases(self, p: Principal) -> None:
        """Caseworkers, township and county officers (their regions) and auditors (all)."""
        self._known(p)
        if p.role not in (*REGIONAL_ROLES, "auditor"):
            raise Forbidden(f"role {p.role} may not read monitoring cases",
                            zh=f"{_role(p.role)}不能查看监测案件")

    def case_visible(self, p: Principal, region_code: str) -> bool:
        return self.household_visible(p, region_code)

    def read_case(self, p: Principal, region_code: str, ident: str) -> None:
        self.read_cases(p)
        if not self.case_visible(p, region_code):
            raise NotFoundError(f"no monitoring case {ident!r}")

    def write_cases(self, p: Principal, what: str = "open monitoring cases") -> None:
        """Open cases, record visits and measures: caseworkers (checked before any lookup)."""
        self._known(p)
        if p.role != "caseworker":
            raise Forbidden(f"role {p.role} may not {what}; caseworkers do",
                            zh=f"{_role(p.role)}不能{CASE_WORK_ZH.get(what, what)}，"
                            "须由乡镇/村干部办理")

    def may_act_on_cases(self, p: Principal) -> None:
        """Record or decide a step of some case (before the case is looked up)."""
        self._known(p)
        if p.role not in REGIONAL_ROLES:
            raise Forbidden(f"role {p.role} may not act on monitoring cases",
                            zh=f"{_role(p.role)}不能办理监测案件")

    def act_on_case(self, p: Principal, region_code: str, ident: str, step: str) -> None:
        """Record or decide ``step`` of a case of ``region_code``: the step's role, of the
        household's region."""
        self.may_act_on_cases(p)
        self.read_case(p, region_code, ident)
        role = STEP_ROLES[step]
        if p.role != role:
            raise Forbidden(f"the {step} step is recorded and decided by a {role}, not a "
                            f"{p.role}",
                            zh=f"{STEP_ZH.get(step, step)}环节由{_role(role)}办理，"
                            f"{_role(p.role)}不能办理")


# What the console offers each caller; each ability is the decision above that guards it, so the
# console cannot offer what the API would refuse.
ABILITIES = ("evaluate", "readRuleSets", "seeDrafts", "readHouseholds", "saveHouseholds",
             "editRuleSets", "approve", "readAudit", "readAlerts", "resolveAlerts",
             "readCases", "openCases", "townshipReview", "countyApproval")


def abilities(policy: Policy, p: Principal) -> list[str]:
    """The actions ``p`` may take, by name (ABILITIES), as ``policy`` decides them."""
    from services.errors import ServiceError

    def allowed(check: Callable[[], object]) -> bool:
        try:
            check()
        except ServiceError:
            return False
        return True

    decided = {
        "evaluate": allowed(lambda: policy.evaluate(p)),
        "readRuleSets": allowed(lambda: policy.read_rule_sets(p)),
        "seeDrafts": policy.see_drafts(p),
        "readHouseholds": allowed(lambda: policy.read_households(p)),
        # A caseworker saves in their own regions; any one of them shows the ability.
        "saveHouseholds": bool(p.regions) and allowed(
            lambda: policy.write_household(p, min(p.regions))),
        "editRuleSets": p.department is not None and allowed(
            lambda: policy.edit_rule_set(p, p.department or "")),
        "approve": p.department is not None and allowed(
            lambda: policy.approve(p, p.department or "", "publish")),
        "readAudit": allowed(lambda: policy.read_audit(p)),
        "readAlerts": allowed(lambda: policy.read_alerts(p)),
        # A caseworker acts on the alerts of their own regions; any one of them shows it.
        "resolveAlerts": bool(p.regions) and allowed(
            lambda: policy.resolve_alert(p, min(p.regions), "")),
        "readCases": allowed(lambda: policy.read_cases(p)),
        "openCases": allowed(lambda: policy.write_cases(p)),
        "townshipReview": p.role == STEP_ROLES["TOWNSHIP_REVIEW"],
        "countyApproval": p.role == STEP_ROLES["COUNTY_APPROVAL"],
    }
    return [name for name in ABILITIES if decided[name]]
