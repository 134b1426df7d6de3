"""Error messages in the caller's language: Chinese (the default) or English, chosen by the
request's ``Accept-Language``. Codes and field paths never change with the language.

Every error the API gives has a stable code (``extensions.code`` of a GraphQL error, ``code``
of a userError or of a field error in ``extensions.errors``). The English message is the one
the service wrote, with its details (names, numbers). The Chinese message is this module's
text for the code, with the same details where the error carries them as parameters
(``extensions.params``); a code without a text here (none should be, a test scans the sources)
says so in general words rather than falling back to English.

>>> language("en-US,en;q=0.9")
'en'
>>> language("zh-CN,zh;q=0.9,en;q=0.8")
'zh'
>>> language("en;q=0.5, zh;q=0.8")
'zh'
>>> language("")
'zh'
>>> chinese("QUERY_TOO_DEEP", {"max": 12})
'查询嵌套过深：最多 12 层'
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

Lang = str  # "zh" | "en"

# The language of the request being executed (set by the HTTP view in the thread that runs
# the operation), read where userErrors are made.
LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="zh")


def language(accept_language: str | None) -> Lang:
    """``zh`` or ``en``, whichever the header prefers (by q-value, then order); ``zh`` when it
    names neither."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("zh", "en"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if best is None or (q, -i) > (best[0], -best[1]):
            best = (q, i, primary)
    return best[2] if best else "zh"


# code -> Chinese text; ``{name}`` fields are filled from the error's params when present.
ZH: dict[str, str] = {
    # -- requests and documents
    "GRAPHQL_PARSE_FAILED": "查询语法错误",
    "GRAPHQL_VALIDATION_FAILED": "查询不符合接口定义",
    "BAD_USER_INPUT": "变量的值不符合其类型",
    "QUERY_TOO_LARGE": "查询过长：最多 {max} 个词法单元",
    "QUERY_TOO_DEEP": "查询嵌套过深：最多 {max} 层",
    "TOO_MANY_ALIASES": "查询使用的别名过多：最多 {max} 个",
    "QUERY_TOO_COMPLEX": "查询过于复杂，请简化",
    "QUERY_COST_EXCEEDED": "查询成本 {cost} 超过上限 {max}",
    "OPERATION_NAME_REQUIRED": "文档含多个操作时须提供 operationName",
    "OPERATION_NOT_FOUND": "文档中没有该名称的操作",
    "OPERATION_NOT_ALLOWED": "此请求方式不能执行该操作",
    "INTROSPECTION_DISABLED": "本环境不开放内省查询",
    "INVALID_STRING": "字符串含有空字符或超过长度上限：{where}",
    "INVALID_JSON": "请求体不是有效的 JSON",
    "BAD_REQUEST": "请求无效（请求体须为一个 JSON 对象，不支持批量）",
    "UNSUPPORTED_MEDIA_TYPE": "POST /graphql 须使用 Content-Type: application/json",
    "BODY_TOO_LARGE": "请求体超过 1 MiB",
    "REQUEST_TIMEOUT": "请求体未在规定时间内送达",
    "METHOD_NOT_ALLOWED": "只支持 GET 和 POST",
    "NO_QUERY": "请求中没有 GraphQL 查询",
    "RATE_LIMITED": "请求过于频繁，请 {retryAfter} 秒后重试",
    "PERSISTED_QUERY_NOT_ALLOWED": "此令牌只能执行已登记的操作",
    "ORIGIN_NOT_ALLOWED": "此来源不在允许列表中",
    "IDEMPOTENCY_KEY_REUSED": "幂等键已用于另一个请求",
    "INVALID_IDEMPOTENCY_KEY": "幂等键须为 1 至 128 个可见 ASCII 字符",
    "INTERNAL": "内部错误",
    # -- access
    "UNAUTHENTICATED": "需要有效的访问令牌（Authorization: Bearer <令牌>）",
    "FORBIDDEN": "无权执行此操作",
    "NOT_FOUND": "对象不存在",
    "INVALID_LOGIN": "登录名无效",
    "UNKNOWN_ROLE": "未知角色",
    # -- input
    "INVALID_INPUT": "输入无效",
    "INVALID_FACTS": "家庭事实无效：共 {count} 处问题",
    "INVALID_DOCUMENT": "规则集文档无效",
    "UNKNOWN_PROGRAM": "未知项目",
    "UNKNOWN_FIELD": "未知字段",
    "REQUIRED": "缺少必填项",
    "WRONG_TYPE": "类型错误",
    "INVALID_VALUE": "取值无效",
    "INVALID_ENUM_VALUE": "不是可选值之一",
    "NOT_FINITE": "须为有限数",
    "NEGATIVE_AMOUNT": "金额不能为负数",
    "AMOUNT_TOO_LARGE": "金额过大",
    "TOO_MANY_DECIMALS": "金额最多两位小数",
    "OUT_OF_RANGE": "超出允许范围",
    "NO_MEMBERS": "家庭至少有一名成员",
    "TOO_MANY_MEMBERS": "家庭成员过多",
    "DUPLICATE_MEMBER_ID": "成员编号重复",
    "BIRTH_AFTER_AS_OF": "出生日期晚于评估日期",
    "DATE_AFTER_AS_OF": "日期晚于评估日期",
    "DATE_IN_FUTURE": "日期晚于今天",
    "AGE_OVER_LIMIT": "年龄超过 120 岁",
    "DISABILITY_GRADE_RANGE": "残疾等级须为 1 至 4",
    "DISABILITY_GRADE_REQUIRED": "有残疾类别时须填残疾等级",
    "DISABILITY_KIND_REQUIRED": "有残疾等级时须填残疾类别",
    "INCONSISTENT_VALUE": "与其他事实矛盾",
    "CONTRADICTORY_FACTS": ("与其他事实相互矛盾（低保户不是低保边缘家庭；"
                            "只有监测对象才有纳入监测日期）"),
    "TOO_LONG": "过长",
    "PAGE_SIZE": "每页条数超出允许范围",
    "INVALID_CURSOR": "分页游标无效，请使用服务返回的游标",
    "INVALID_RANGE": "日期范围无效",
    "TOO_MANY_EVENTS": "一次提交的事件过多",
    "NOTE_REQUIRED": "排除预警须填写说明",
    "EVENT_ID_REUSED": "事件编号已用于内容不同的事件",
    "ID_TAKEN": "该编号已被使用",
    "BATCH_TOO_LARGE": "一次评估的家庭过多",
    "DUPLICATE_KEY": "与前面某项的 key 重复",
    "TOO_MANY_IDS": "一次读取的标识过多：最多 100 个",
    "TOO_MANY_JOBS": "正在运行的影响预览过多，请待其中一个完成后再开始",
    "INTERRUPTED": "运行影响预览的进程已停止，请重新开始",
    "HOUSEHOLD_OR_FACTS": "家庭信息须且只须提供一次：facts 或 household 二选一",
    "NO_VERSION_IN_FORCE": "评估日期没有生效的版本",
    # -- monitoring cases
    "CASE_ALREADY_OPEN": "该户已有同类在办案件",
    "ALREADY_MONITORED": "该户已是监测对象",
    "NOT_MONITORED": "该户不是监测对象，无法标注风险消除",
    "NO_PROCEDURE": "该日无有效的识别程序",
    "WRONG_STEP": "案件不在该环节",
    "CASE_CLOSED": "案件已办结",
    "TWO_VERIFIERS": "入户核查须由两名干部完成，请填写两人姓名",
    "STEP_NOT_RECORDED": "本环节尚未记录，不能通过",
    "CRITERIA_NOT_MET": ("最近一次认定未满足监测类别、风险项或风险消除条件，"
                         "须说明依据后方可进入村级评议"),
    "NOTICE_NOT_OVER": "公示期未满，不能通过",
    "REASON_REQUIRED": "退回或不予通过须说明理由",
    "FOUR_EYES": "县级审定须由乡镇审核人以外的人员作出（双人复核）",
    "UNKNOWN_RISK": "该户最近一次认定没有此风险",
    "INVALID_DATE": "不是有效日期",
    "CONTRADICTION": "同一天既是假日又是工作日",
    "DUPLICATE_VERSION": "版本号重复",
    "INVALID_YAML": "YAML 语法错误",
    # -- editing and lifecycle
    "CONFLICT": "数据已被他人修改，请重新读取后再试",
    "IMMUTABLE": "已发布的内容不可修改",
    "DRAFT_EXISTS": "该规则集已有一个草稿",
    "NOT_A_DRAFT": "该版本不是草稿",
    "NOT_PUBLISHED": "只能从已发布的版本创建草稿",
    "WRONG_STATUS": "该版本当前状态不允许此操作",
    "SAME_PERSON": "发布者不能是草稿作者（双人复核）",
    "NOT_THE_AUTHOR": "只有作者可以撤回",
    "EFFECTIVE_FROM_TOO_EARLY": "生效日期早于当前生效版本",
    "RETROACTIVE": "生效日期在过去，须明确确认并说明理由",
    "IN_THE_PAST": "日期在过去",
    "NOT_APPLICABLE": "此操作不适用于该对象",
    "TEST_FAILED": "测试用例未通过",
    "NO_TEST_CASES": "没有测试用例",
    "VERSION_INTEGRITY": "版本未通过完整性校验，暂停使用",
    "NOT_READY": "服务尚未就绪",
    "ERROR": "请求失败",
    "STORE_ERROR": "存储错误",
    # -- rule-set documents and conditions
    "YAML_SYNTAX": "YAML 语法错误",
    "NAME_CLASH": "名称冲突",
    "CYCLIC_DEFINITION": "定义循环引用",
    "OUTCOME_TITLE": "结果标题不一致",
    "OUTCOME_SCOPE": "结果的适用范围不一致",
    "OUTCOME_PREFIX": "结果代码须以项目代码开头",
    "OUTCOME_MEANING_CHANGED": "结果代码的含义被改变",
    "GROUP_PRIORITY": "互斥组内优先级无效",
    "DUPLICATE_PRIORITY": "互斥组内优先级重复",
    "DUPLICATE_RULE_ID": "规则编号重复",
    "UNKNOWN_CATALOGUE_VERSION": "未知的事实目录版本",
    "MISSING_CITATION": "缺少政策依据",
    "CITATION_FIGURE_STALE": "引文中的数值与参数不一致",
    "UNUSED_PARAMETER": "参数未被使用",
    "UNUSED_DEFINITION": "定义未被使用",
    "UNKNOWN_PARAMETER": "未知参数",
    "UNKNOWN_NAME": "未知名称",
    "UNKNOWN_FUNCTION": "未知函数",
    "UNKNOWN_OUTCOME": "未知结果代码",
    "TYPE_MISMATCH": "类型不匹配",
    "ARITY": "函数参数个数错误",
    "ARITH": "算术运算无效",
    "SYNTAX": "条件语法错误",
    "UNEXPECTED_CHARACTER": "条件中有无法识别的字符",
    "NOT_A_CONDITION": "不是条件表达式",
    "NESTED_QUANTIFIER": "成员量词不能嵌套",
    "ENUM_OUT_OF_PLACE": "枚举值用在了不适用的位置",
    "MEMBER_FACT_IN_HOUSEHOLD_SCOPE": "户级规则直接引用了成员事实",
    "EVENT_FACT_OUTSIDE_EVENTS": "事件事实只能用于预警规则",
    "FACT_TOO_NEW": "事实晚于文档声明的目录版本",
    "TIER_GAP": "档次之间有空档",
    "TIER_OVERLAP": "档次相互重叠",
    "TIER_UNREACHABLE": "档次不可达",
    "TIER_CHECK_SKIPPED": "未能检查档次",
}


# code -> what it means in English, in general words (the ErrorCode enum's descriptions; the
# English message of an error is the service's own, with its details). Kept equal to ZH's
# codes by a test.
EN: dict[str, str] = {
    "GRAPHQL_PARSE_FAILED": "The query is not valid GraphQL syntax.",
    "GRAPHQL_VALIDATION_FAILED": "The query does not fit the schema.",
    "BAD_USER_INPUT": "A variable's value does not fit its type.",
    "QUERY_TOO_LARGE": "The query has too many tokens.",
    "QUERY_TOO_DEEP": "The query nests too deeply.",
    "TOO_MANY_ALIASES": "The query uses too many aliases.",
    "QUERY_TOO_COMPLEX": "The query is too complex.",
    "QUERY_COST_EXCEEDED": "The query's cost is over the limit.",
    "OPERATION_NAME_REQUIRED": "A document with several operations needs operationName.",
    "OPERATION_NOT_FOUND": "The document has no operation of that name.",
    "OPERATION_NOT_ALLOWED": "This HTTP method cannot run that operation.",
    "INTROSPECTION_DISABLED": "Introspection is off in this environment.",
    "INVALID_STRING": "A string holds a NUL character or is over the length limit.",
    "INVALID_JSON": "The request body is not valid JSON.",
    "BAD_REQUEST": "The request is not valid (one JSON object; no batching).",
    "UNSUPPORTED_MEDIA_TYPE": "POST /graphql needs Content-Type: application/json.",
    "BODY_TOO_LARGE": "The request body is over 1 MiB.",
    "REQUEST_TIMEOUT": "The request body did not arrive in time.",
    "METHOD_NOT_ALLOWED": "Only GET and POST are served.",
    "NO_QUERY": "The request holds no GraphQL query.",
    "RATE_LIMITED": "Too many requests: retry after the Retry-After seconds.",
    "PERSISTED_QUERY_NOT_ALLOWED": "This token may run only the registered operations.",
    "ORIGIN_NOT_ALLOWED": "The origin is not on the allow-list.",
    "IDEMPOTENCY_KEY_REUSED": "The idempotency key was used for another request.",
    "INVALID_IDEMPOTENCY_KEY": "An idempotency key is 1 to 128 visible ASCII characters.",
    "INTERNAL": "An internal error.",
    "UNAUTHENTICATED": "A valid token is needed (Authorization: Bearer <token>).",
    "FORBIDDEN": "The caller may not do this.",
    "NOT_FOUND": "No such object.",
    "INVALID_LOGIN": "The login name is not valid.",
    "UNKNOWN_ROLE": "An unknown role.",
    "INVALID_INPUT": "The input is not valid.",
    "INVALID_FACTS": "The household's facts are not valid (see the field errors).",
    "INVALID_DOCUMENT": "The rule-set document is not valid.",
    "UNKNOWN_PROGRAM": "An unknown program.",
    "UNKNOWN_FIELD": "An unknown field.",
    "REQUIRED": "A required value is missing.",
    "WRONG_TYPE": "A value of the wrong type.",
    "INVALID_VALUE": "A value that is not valid.",
    "INVALID_ENUM_VALUE": "Not one of the allowed values.",
    "NOT_FINITE": "A number must be finite.",
    "NEGATIVE_AMOUNT": "An amount cannot be negative.",
    "AMOUNT_TOO_LARGE": "An amount is too large.",
    "TOO_MANY_DECIMALS": "Money has at most two decimals.",
    "OUT_OF_RANGE": "A value outside its allowed range.",
    "NO_MEMBERS": "A household has at least one member.",
    "TOO_MANY_MEMBERS": "A household with too many members.",
    "DUPLICATE_MEMBER_ID": "Member ids repeat.",
    "BIRTH_AFTER_AS_OF": "A birth date after the evaluation date.",
    "DATE_AFTER_AS_OF": "A date after the evaluation date.",
    "DATE_IN_FUTURE": "A date after today.",
    "AGE_OVER_LIMIT": "An age over 120 years.",
    "DISABILITY_GRADE_RANGE": "A disability grade is 1 to 4.",
    "DISABILITY_GRADE_REQUIRED": "A disability kind needs a grade.",
    "DISABILITY_KIND_REQUIRED": "A disability grade needs a kind.",
    "INCONSISTENT_VALUE": "A value that contradicts other facts.",
    "CONTRADICTORY_FACTS": "Facts that contradict each other (dibao with dibaoMarginal; "
                           "monitoredSince without monitored).",
    "TOO_LONG": "Too long.",
    "PAGE_SIZE": "A page size outside the allowed range.",
    "INVALID_CURSOR": "A page cursor the service did not give.",
    "INVALID_RANGE": "A date range that is not valid.",
    "TOO_MANY_EVENTS": "Too many events in one call.",
    "NOTE_REQUIRED": "Dismissing an alert needs a note.",
    "EVENT_ID_REUSED": "The event id was used for an event with other content.",
    "ID_TAKEN": "The id is taken.",
    "BATCH_TOO_LARGE": "Too many households in one evaluation.",
    "DUPLICATE_KEY": "The key repeats an earlier item's.",
    "TOO_MANY_IDS": "Too many ids in one read (at most 100).",
    "TOO_MANY_JOBS": "Too many impact previews running: wait for one to finish.",
    "INTERRUPTED": "The process running the impact preview stopped: start it again.",
    "HOUSEHOLD_OR_FACTS": "Give the household exactly once: facts or household.",
    "NO_VERSION_IN_FORCE": "No version in force on the evaluation date.",
    "CASE_ALREADY_OPEN": "The household has an open case of this kind.",
    "ALREADY_MONITORED": "The household is monitored already.",
    "NOT_MONITORED": "The household is not monitored: no risk elimination.",
    "NO_PROCEDURE": "No identification procedure in force on that day.",
    "WRONG_STEP": "The case is not at that step.",
    "CASE_CLOSED": "The case is closed.",
    "TWO_VERIFIERS": "A home verification is made by two cadres: name both.",
    "STEP_NOT_RECORDED": "The step is not recorded yet and cannot be approved.",
    "CRITERIA_NOT_MET": "The latest determination does not meet the criteria: a reason is "
                        "needed before the village review.",
    "NOTICE_NOT_OVER": "The public notice period is not over.",
    "REASON_REQUIRED": "Returning or rejecting needs a reason.",
    "FOUR_EYES": "The county approval is made by another person than the township reviewer.",
    "UNKNOWN_RISK": "The household's latest determination has no such risk.",
    "INVALID_DATE": "Not a valid date.",
    "CONTRADICTION": "The same day both a holiday and a working day.",
    "DUPLICATE_VERSION": "A version number repeats.",
    "INVALID_YAML": "YAML syntax error.",
    "CONFLICT": "Changed by someone else: read it again and retry.",
    "IMMUTABLE": "Published content cannot be changed.",
    "DRAFT_EXISTS": "The rule set has a draft already.",
    "NOT_A_DRAFT": "The version is not a draft.",
    "NOT_PUBLISHED": "A draft is made from a published version only.",
    "WRONG_STATUS": "The version's status does not allow this.",
    "SAME_PERSON": "The publisher cannot be the draft's author (four eyes).",
    "NOT_THE_AUTHOR": "Only the author may withdraw.",
    "EFFECTIVE_FROM_TOO_EARLY": "The effective date is before that of the version in force.",
    "RETROACTIVE": "An effective date in the past needs an explicit confirmation and a reason.",
    "IN_THE_PAST": "A date in the past.",
    "NOT_APPLICABLE": "This does not apply to the object.",
    "TEST_FAILED": "A test case failed.",
    "NO_TEST_CASES": "No test cases.",
    "VERSION_INTEGRITY": "A version failed its integrity check and is not served.",
    "NOT_READY": "The service is not ready yet.",
    "ERROR": "The request failed.",
    "STORE_ERROR": "A storage error.",
    "YAML_SYNTAX": "YAML syntax error.",
    "NAME_CLASH": "A name clash.",
    "CYCLIC_DEFINITION": "A definition refers to itself in a cycle.",
    "OUTCOME_TITLE": "An outcome's titles disagree.",
    "OUTCOME_SCOPE": "An outcome's scopes disagree.",
    "OUTCOME_PREFIX": "An outcome code starts with the program's code.",
    "OUTCOME_MEANING_CHANGED": "An outcome code's meaning changed.",
    "GROUP_PRIORITY": "A priority in an exclusive group is not valid.",
    "DUPLICATE_PRIORITY": "A priority repeats in an exclusive group.",
    "DUPLICATE_RULE_ID": "A rule id repeats.",
    "UNKNOWN_CATALOGUE_VERSION": "An unknown fact catalogue version.",
    "MISSING_CITATION": "A policy citation is missing.",
    "CITATION_FIGURE_STALE": "A figure in a citation disagrees with the parameter.",
    "UNUSED_PARAMETER": "A parameter is not used.",
    "UNUSED_DEFINITION": "A definition is not used.",
    "UNKNOWN_PARAMETER": "An unknown parameter.",
    "UNKNOWN_NAME": "An unknown name.",
    "UNKNOWN_FUNCTION": "An unknown function.",
    "UNKNOWN_OUTCOME": "An unknown outcome code.",
    "TYPE_MISMATCH": "Types do not match.",
    "ARITY": "A function is given the wrong number of arguments.",
    "ARITH": "An arithmetic operation that is not valid.",
    "SYNTAX": "A condition's syntax error.",
    "UNEXPECTED_CHARACTER": "A condition holds a character that is not understood.",
    "NOT_A_CONDITION": "Not a condition.",
    "NESTED_QUANTIFIER": "Member quantifiers cannot nest.",
    "ENUM_OUT_OF_PLACE": "An enum value used where it does not apply.",
    "MEMBER_FACT_IN_HOUSEHOLD_SCOPE": "A household rule uses a member fact directly.",
    "EVENT_FACT_OUTSIDE_EVENTS": "Event facts are for early-warning rules only.",
    "FACT_TOO_NEW": "A fact newer than the catalogue version the document declares.",
    "TIER_GAP": "A gap between tiers.",
    "TIER_OVERLAP": "Tiers overlap.",
    "TIER_UNREACHABLE": "A tier cannot be reached.",
    "TIER_CHECK_SKIPPED": "The tiers could not be checked.",
}

# Where the error carries no code of its own, graphql-core's message says which kind it is.
def _pattern(text: str) -> re.Pattern[str]:
    """graphql-core quotes names with ' or ", by version: ``'`` here matches either, and
    ``{x}`` a quoted name captured as ``x``."""
    text = re.sub(r"'\{(\w+)\}'", r"['\"](?P<\1>[^'\"]+)['\"]", text)
    return re.compile(text.replace("''", "['\"][^'\"]+['\"]"))


_GRAPHQL_PATTERNS: list[tuple[re.Pattern[str], str, str]] = [(_pattern(p), c, t) for p, c, t in [
    ("^Cannot query field '{field}' on type '{type}'",
     "GRAPHQL_VALIDATION_FAILED", "类型 {type} 没有字段 {field}"),
    ("^Unknown argument '{arg}' on field '{field}'",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 没有参数 {arg}"),
    ("^Field '{field}' argument '{arg}' of type '' is required",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 缺少必填参数 {arg}"),
    ("^Field '{field}' of type '' must have a selection",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 须选择子字段"),
    ("^Field '{field}' must not have a selection",
     "GRAPHQL_VALIDATION_FAILED", "字段 {field} 没有子字段可选"),
    ("^Unknown type '{name}'", "GRAPHQL_VALIDATION_FAILED", "未知类型 {name}"),
    ("^Unknown fragment '{name}'", "GRAPHQL_VALIDATION_FAILED", "未知片段 {name}"),
    ("^Cannot spread fragment '{name}' within itself",
     "GRAPHQL_VALIDATION_FAILED", "片段 {name} 不能引用自身"),
    ("^Variable '{name}' of required type '' was not provided",
     "BAD_USER_INPUT", "缺少必填变量 {name}"),
    ("^Variable '{name}' (got|has) invalid value",
     "BAD_USER_INPUT", "变量 {name} 的值不符合其类型"),
    ("^Variable '{name}' of non-null type '' must not be null",
     "BAD_USER_INPUT", "变量 {name} 不能为 null"),
    ("^Variable '{name}'", "BAD_USER_INPUT", "变量 {name} 无效"),
    ("introspection (has been|is) disabled", "INTROSPECTION_DISABLED",
     ZH["INTROSPECTION_DISABLED"]),
    ("Document contains more than (?P<max>\\d+) tokens", "QUERY_TOO_LARGE", ZH["QUERY_TOO_LARGE"]),
    ("^Unknown operation named '", "OPERATION_NOT_FOUND", ZH["OPERATION_NOT_FOUND"]),
]]


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def chinese(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The Chinese text of ``code``, with ``params`` filled in (a missing one reads "?",
    and the parenthesis that would hold it is dropped)."""
    text = ZH.get(code)
    if text is None:
        return f"请求未能完成（错误代码 {code}）"
    if "{" not in text:
        return text
    if not params:
        # the general words only: "查询嵌套过深：最多 {max} 层" -> "查询嵌套过深"
        return re.split(r"[：，]", text, maxsplit=1)[0]
    return text.format_map(_Blank(params))


def classify(error: GraphQLError) -> tuple[str, dict[str, Any], str | None]:
    """An error's code, its parameters and, for graphql-core's own errors, a Chinese text
    made from its message (None: the code's text)."""
    extensions = error.extensions or {}
    code = extensions.get("code")
    params = dict(extensions.get("params") or {})
    if code is not None:
        return str(code), params, None
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return "INTERNAL", params, None
    for pattern, kind, text in _GRAPHQL_PATTERNS:
        found = pattern.search(error.message)
        if found:
            return kind, {**params, **found.groupdict()}, text.format_map(
                _Blank(found.groupdict()))
    if isinstance(error, GraphQLSyntaxError) or error.message.startswith("Syntax Error"):
        where = error.locations[0] if error.locations else None
        return "GRAPHQL_PARSE_FAILED", params, None if where is None else \
            f"查询语法错误（第 {where.line} 行第 {where.column} 列）"
    return "GRAPHQL_VALIDATION_FAILED", params, None


def localise_error(error: GraphQLError, lang: Lang) -> dict[str, Any]:
    """``error`` as the response shows it: ``extensions.code`` always, the message in
    ``lang``, field errors (``extensions.errors``) in ``lang`` too."""
    formatted: dict[str, Any] = error.formatted  # type: ignore[assignment]
    code, params, zh_text = classify(error)
    extensions = dict(formatted.get("extensions") or {})
    extensions["code"] = code
    extensions.pop("params", None)
    if lang == "zh":
        formatted["message"] = zh_text if zh_text is not None else chinese(code, params)
        inner = extensions.get("errors")
        if isinstance(inner, list):
            extensions["errors"] = [
                {**e, "message": chinese(str(e.get("code")), e.get("params"))}
                if isinstance(e, dict) else e for e in inner]
    formatted["extensions"] = extensions
    return formatted


def message(code: str, english: str, params: Mapping[str, Any] | None = None) -> str:
    """A userError's or refusal's message in the language of the request being served."""
    return english if LANGUAGE.get() == "en" else chinese(code, params)
