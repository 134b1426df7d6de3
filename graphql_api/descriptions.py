"""Descriptions of the schema's types, fields, arguments and enum values, by schema coordinate,
for those the code does not describe where it defines them. ``describe_schema`` fills them in
once the schema is built (a description written in the code wins); the patterns at the end
describe what every connection, edge and payload shares. ``testing/schema_lint.py`` checks
that everything is described.

Amounts are yuan (元) with up to two decimals; "a year" amounts count a monthly amount twelve
times.
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from graphql_api.messages import EN, ZH, chinese

_ID_ARG = "The object's id (its id field, not its nodeId)."
_REVISION = ("The revision the object was read at; if it changed since, nothing is done and "
             "the answer is a CONFLICT userError.")

DESCRIPTIONS: dict[str, str] = {
    # -- root types
    "Query": "What a client may read: evaluations, rule sets, stored households and their "
             "determinations, alerts, the audit log. 查询。",
    "Mutation": "What a client may change: households and recorded determinations, rule-set "
                "drafts and their review, events and alerts. Expected failures are each "
                "payload's userErrors. 变更。",
    "Subscription": "Pushed to the client over graphql-transport-ws. 订阅。",
    "Query.ruleSets": "Every rule set (program) with its versions you may see. 全部规则集。",
    "Query.ruleSet": "One rule set by its code, if it exists. 按代码读取规则集。",
    "Query.ruleSet(code)": "The rule set's code (its program), e.g. education.",
    "Query.ruleSetVersion(id)": "The version's id, e.g. education-v2.",
    "Query.household(id)": "The household's own id (its id field), e.g. hh-001.",
    "Query.determinationRecord(id)": "The record's id (its id field).",
    "Query.alert(id)": "The alert's id (its id field).",
    "Query.evaluateMany(items)": "The households, each with the caller's key and its date "
                                 "(at most POLICY_ENGINE_MAX_BATCH_ITEMS, default 500; at "
                                 "most POLICY_ENGINE_MAX_WHAT_IF_ITEMS, default 20, over all "
                                 "evaluateMany fields of a request whose selection asks "
                                 "whatWouldChange, else WHAT_IF_LIMIT).",
    "Query.evaluateMany(programs)": "Only these programs (rule-set codes) for every item; "
                                    "null: every program. An unknown code is an "
                                    "UNKNOWN_PROGRAM error of the call.",
    "Query.alertCounts(regionCodes)": "Only alerts of these regions (and their villages), "
                                      "within the ones you may see.",
    "Subscription.alertRaised(regionCodes)": "Only alerts of these regions (and their "
                                             "villages), within yours; null: all of yours.",
    # -- evaluation results
    "Determination": "What a household may receive on a day: each program's outcomes with "
                     "their reasons, under the versions in force then. 认定结果。",
    "Determination.asOf": "The day evaluated (the versions in force then).",
    "Determination.flaggedForMonitoring": "The household meets a monitoring category or risk "
                                          "item (防止返贫监测对象): see flaggedBy. Decided by "
                                          "the monitoring program: false as well when the "
                                          "programs asked for leave it out.",
    "Determination.programs": "One result per program with a version in force on asOf.",
    "Determination.outcomes(status)": "Only outcomes of this status (null: all).",
    "ProgramResult": "One program's outcomes and the version that decided them. 单个项目的结果。",
    "ProgramResult.program": "The program's code, e.g. education (the rule set's code).",
    "ProgramResult.ruleSetVersion": "The version in force on asOf that decided the outcomes.",
    "ProgramResult.outcomes": "The program's outcomes (see Outcome).",
    "ProgramResult.outcomes(status)": "Only outcomes of this status (null: all).",
    "Outcome": "One benefit or service the rules decide, for the household or one member: "
               "granted or not, or undetermined for want of a fact. 一项待遇的认定。",
    "Outcome.code": "The outcome's code, e.g. education.compulsory_living_subsidy "
                    "(POLICY_BRIEF.md).",
    "Outcome.title": "The outcome's name in the language asked for.",
    "Outcome.title(lang)": "The language: ZH (default) or EN.",
    "Outcome.status": "GRANTED, NOT_GRANTED or UNDETERMINED.",
    "Outcome.period": "How often amount is paid: YEAR, MONTH or ONCE (null where amount is).",
    "Outcome.terms": "The outcome's terms, e.g. medical relief's ratio, deductible, annualCap, "
                     "premiumSubsidy and estimatedRelief.",
    "Outcome.reasons": "Why it is granted, or why not (the rules and their conditions).",
    "Outcome.missingFacts": "For UNDETERMINED: the input fact paths whose values would decide "
                            "it, e.g. previousAnnualNetIncome.",
    "Term": "One term of an outcome: a named figure with its unit. 待遇条款。",
    "Term.key": "The term's name, e.g. ratio, deductible, annualCap.",
    "Term.value": "The figure, in unit.",
    "Term.unit": "The figure's unit: yuan (元, per person unless the outcome is the "
                 "household's), ratio (0.5 = 50 %), ...",
    "Reason": "A rule that decided an outcome, with its citation and its condition. 认定依据。",
    "Reason.ruleId": "The rule's id in its rule set, e.g. education.compulsory.boarding.",
    "Reason.text": "The rule's explanation in the language asked for.",
    "Reason.text(lang)": "The language: ZH (default) or EN.",
    "Reason.citation": "The policy document and clause the rule implements.",
    "Reason.conditions": "The condition's comparisons as a flat list.",
    "Reason.condition(depth)": "Levels of derived facts opened into their definitions "
                               "(default 1; null: all).",
    "Citation": "Where a rule or parameter comes from: a policy document and clause. 政策依据。",
    "Citation.document": "The document's title, e.g. 《城乡义务教育补助经费管理办法》.",
    "Citation.clause": "The clause or section, e.g. 四、8.",
    "Citation.quote": "The words quoted from the clause.",
    "Citation.url": "Where the document is published, if online.",
    "ConditionCheck": "One comparison of a rule's condition with the values it saw "
                      "(deprecated with Reason.conditions). 条件核对。",
    "FactChange.text": "The change in words, in the language asked for.",
    "FactChange.text(lang)": "The language: ZH (default) or EN.",
    "ReplayResult": "A recorded determination evaluated again. 重放结果。",
    "ReplayResult.determination": "The determination evaluated again from the recorded facts "
                                  "and versions.",
    "UserError": "An expected failure: where (a field path), a stable code and a message "
                 "(Chinese by default, English with Accept-Language: en). 用户错误。",
    "UserError.field": "The field path in the call's arguments, e.g. "
                       "household.members[1].birthDate (null: the call as a whole).",
    "UserError.message": "What is wrong, in the request's language.",
    "UserError.code": "A stable code, e.g. INVALID_FACTS, CONFLICT (see graphql_api/messages.py).",
    # -- rule sets
    "RuleSet": "A program's rule set (规则集) and its versions. 规则集。",
    "RuleSet.code": "The program's code, e.g. education.",
    "RuleSet.title": "The rule set's name in the language asked for.",
    "RuleSet.title(lang)": "The language: ZH (default) or EN.",
    "RuleSet.versions": "Its versions by number: published and retired ones for everyone, "
                        "drafts and versions in review for policy staff.",
    "RuleSet.versionInForce": "The published version in force on asOf (null: none).",
    "RuleSet.versionInForce(asOf)": "The day.",
    "RuleSetVersion": "One version of a rule set: a draft, in review, published (in force from "
                      "effectiveFrom) or retired. 规则集版本。",
    "RuleSetVersion.id": "The version's id, e.g. education-v2 (drafts: a UUID).",
    "RuleSetVersion.ruleSet": "The rule set's code.",
    "RuleSetVersion.version": "The version's number within its rule set (1, 2, ...).",
    "RuleSetVersion.status": "DRAFT, IN_REVIEW, PUBLISHED or RETIRED.",
    "RuleSetVersion.effectiveFrom": "The first day it is in force (null: not published).",
    "RuleSetVersion.contentHash": "sha256 of the canonical document; determinations record "
                                  "it.",
    "RuleSetVersion.createdAt": "When the version was created.",
    "RuleSetVersion.submittedAt": "When it was submitted for review.",
    "RuleSetVersion.publishedAt": "When it was published.",
    "RuleSetVersion.retiredAt": "When it was retired.",
    "RuleSetVersion.diff(against)": "The version to compare with (default: the one this was "
                                    "drafted from, else the one numbered before).",
    # -- diffs
    "VersionDiff.against": "The older side.",
    "VersionDiff.version": "The newer side.",
    "VersionDiff.parameters": "Parameters added, removed or changed.",
    "VersionDiff.definitions": "Definitions added, removed or changed.",
    "VersionDiff.rules": "Rules added, removed or changed.",
    "VersionDiff.tests": "Test cases added, removed or changed.",
    "VersionDiff.text(lang)": "The language: ZH (default) or EN.",
    "ParameterDiff": "A parameter added, removed or changed, with its values, units and "
                     "citations on both sides. 参数变化。",
    "ParameterDiff.name": "The parameter's name, e.g. incomeLine.",
    "ParameterDiff.kind": "ADDED, REMOVED or CHANGED.",
    "ParameterDiff.oldValue": "Its value before (null: added).",
    "ParameterDiff.newValue": "Its value after (null: removed).",
    "ParameterDiff.oldUnit": "Its unit before, e.g. yuan/person/year.",
    "ParameterDiff.newUnit": "Its unit after.",
    "ParameterDiff.oldCitation": "Its citation before.",
    "ParameterDiff.newCitation": "Its citation after.",
    "ParameterDiff.changes": "Every field that differs.",
    "DefinitionDiff": "A definition added, removed or changed. 定义变化。",
    "DefinitionDiff.name": "The definition's name.",
    "DefinitionDiff.kind": "ADDED, REMOVED or CHANGED.",
    "DefinitionDiff.oldCondition": "Its condition before (null: added).",
    "DefinitionDiff.newCondition": "Its condition after (null: removed).",
    "DefinitionDiff.changes": "Every field that differs.",
    "RuleDiff.kind": "ADDED, REMOVED or CHANGED.",
    "RuleDiff.outcome": "The outcome code the rule gives.",
    "RuleDiff.oldCondition": "Its condition before (null: added).",
    "RuleDiff.newCondition": "Its condition after (null: removed).",
    "RuleDiff.oldAmount": "Its amount expression before.",
    "RuleDiff.newAmount": "Its amount expression after.",
    "RuleDiff.changes": "Every field that differs.",
    "TestCaseDiff": "A test case added, removed or changed. 测试用例变化。",
    "TestCaseDiff.name": "The test case's name.",
    "TestCaseDiff.kind": "ADDED, REMOVED or CHANGED.",
    "TestCaseDiff.changes": "Every field that differs.",
    "FieldChange.field": "The field's path in the document, e.g. notes[0].zh.",
    "FieldChange.old": "Its value before, as text (null: absent).",
    "FieldChange.new": "Its value after, as text (null: absent).",
    # -- stored households and records
    "Household": "A stored household (its facts as the latest revision) with its "
                 "determinations and alerts. 已存储的家庭。",
    "Household.id": "The household's own id, e.g. hh-001 (chosen when first saved).",
    "Household.regionCode": "Its region (village) code, e.g. 371300-001.",
    "Household.revision": "Counts the saves; householdSave takes the revision read "
                          "(expectedRevision).",
    "Household.updatedAt": "When the latest revision was saved.",
    "HouseholdFilter": "Which stored households to list; every given filter must match. "
                       "家庭筛选。",
    "HouseholdFilter.regionCodes": "Only these regions (and their villages), within yours.",
    "HouseholdFilter.idPrefix": "Only ids that start with this.",
    "DeterminationRecord": "A determination as recorded (append-only): the facts, the "
                           "versions by content hash and the result. 认定记录。",
    "DeterminationRecord.id": "The record's id.",
    "DeterminationRecord.householdId": "The stored household evaluated (null: none).",
    "DeterminationRecord.householdRevision": "The household's revision evaluated.",
    "DeterminationRecord.regionCode": "The household's region code.",
    "DeterminationRecord.asOf": "The day evaluated.",
    "DeterminationRecord.createdAt": "When it was recorded.",
    "DeterminationRecord.createdBy": "Who recorded it (role:login).",
    "DeterminationRecord.versions": "The versions that decided it.",
    "Query.households(filter)": "Only households that match.",
    "Query.alerts(filter)": "Only alerts that match.",
    "Query.auditLog(filter)": "Only entries that match.",
    "Query.auditLog(first)": "How many entries from the newest (1 to 500).",
    "Mutation.householdDetermine(id)": "The household's own id (its id field).",
    "Mutation.householdDetermine(asOf)": "Evaluate under the versions in force on this day.",
    "Mutation.householdDetermine(programs)": "Only these programs; null: every program.",
    # -- enums
    "OutcomeStatus": "Whether an outcome is granted. 认定状态。",
    "OutcomeStatus.GRANTED": "享受 / Granted: the rule's condition holds.",
    "OutcomeStatus.NOT_GRANTED": "不享受 / Not granted: the condition does not hold.",
    "OutcomeStatus.UNDETERMINED": "待定 / Undetermined: a fact it depends on is unknown "
                                  "(see missingFacts).",
    "AmountPeriod": "How often an amount is paid. 发放周期。",
    "AmountPeriod.YEAR": "每年 / A year.",
    "AmountPeriod.MONTH": "每月 / A month.",
    "AmountPeriod.ONCE": "一次性 / Once.",
    "Lang": "The language of a text. 语言。",
    "Lang.ZH": "中文 / Chinese.",
    "Lang.EN": "英文 / English.",
    "VersionStatus": "Where a version is in its life: draft, review, published, retired. "
                     "版本状态。",
    "VersionStatus.DRAFT": "草稿 / Draft: editable by its department's editors.",
    "VersionStatus.IN_REVIEW": "待审核 / In review: submitted, awaiting another approver.",
    "VersionStatus.PUBLISHED": "已发布 / Published: in force from effectiveFrom.",
    "VersionStatus.RETIRED": "已废止 / Retired: no longer in force.",
    "ChangeKind": "How a part of a document changed. 变化类型。",
    "ChangeKind.ADDED": "新增 / Added.",
    "ChangeKind.REMOVED": "删除 / Removed.",
    "ChangeKind.CHANGED": "修改 / Changed.",
    "IssueSeverity": "How serious a document problem is. 问题级别。",
    "IssueSeverity.ERROR": "错误 / Error: blocks submitting and publishing.",
    "IssueSeverity.WARNING": "警告 / Warning: worth a look; does not block.",
    "OutcomeChangeKind": "How a draft changes one outcome of a household. 结果变化类型。",
    "OutcomeChangeKind.GAINED": "新增享受 / Gained: granted under the draft only.",
    "OutcomeChangeKind.LOST": "不再享受 / Lost: granted under the version in force only.",
    "OutcomeChangeKind.AMOUNT": "金额变化 / The amount changes.",
    "OutcomeChangeKind.TIER": "档次变化 / The tier (terms) changes.",
    "OutcomeChangeKind.STATUS": "状态变化 / Another status change (e.g. to UNDETERMINED).",
    "HouseholdChangeKind": "How a draft changes a household's outcomes. 家庭变化类型。",
    "HouseholdChangeKind.GAINED": "只有新增 / Only gains.",
    "HouseholdChangeKind.LOST": "只有减少 / Only losses.",
    "HouseholdChangeKind.CHANGED": "有增有减或金额变化 / Other changes.",
    "AlertStatus.OPEN": "待核实 / Open: not looked at yet.",
    "AlertStatus.VERIFIED": "已核实 / Verified by a caseworker.",
    "AlertStatus.INCLUDED": "已纳入监测 / Included in monitoring.",
    "AlertStatus.DISMISSED": "已排除 / Dismissed, with a note.",
    "AlertResolution.VERIFIED": "核实 / Verify.",
    "AlertResolution.INCLUDED": "纳入监测 / Include in monitoring.",
    "AlertResolution.DISMISSED": "排除 / Dismiss (a note is required).",
    "EventKind.INPATIENT_COST": "住院费用 / Inpatient cost (amount: out of pocket, yuan).",
    "EventKind.DIBAO_GRANTED": "纳入低保 / Dibao granted.",
    "EventKind.TEMPORARY_RELIEF_GRANTED": "临时救助 / Temporary relief granted.",
    "EventKind.DISABILITY_CERTIFIED": "残疾认定 / Disability certified (value: grade 1-4).",
    "EventKind.SCHOOL_DROPOUT": "辍学 / School dropout.",
    "EventKind.HOUSING_REGRADED": "住房鉴定 / Housing regraded (value: A-D).",
    "EventKind.INCOME_REPORTED": "收入申报 / Income reported (amount: yuan a year, the "
                                 "household's).",
    # -- alerts and events
    "Alert.id": "The alert's id.",
    "Alert.status": "OPEN, VERIFIED, INCLUDED or DISMISSED.",
    "Alert.householdId": "The household's own id.",
    "Alert.regionCode": "The household's region code.",
    "Alert.memberId": "The member it is about (null: the household).",
    "Alert.reasons": "Why it was raised (as an Outcome's reasons).",
    "Alert.suggestedFacts": "Facts the events suggest changing in the household's record.",
    "Alert.raisedAt": "When it was first raised.",
    "Alert.updatedAt": "When it last changed.",
    "Alert.resolvedBy": "Who resolved it (role:login).",
    "Alert.resolvedAt": "When it was resolved.",
    "Alert.resolutionNote": "The caseworker's note.",
    "Alert.ruleSetVersionId": "The early-warning version that raised it.",
    "Alert.title": "The alert rule's name in the language asked for.",
    "Alert.title(lang)": "The language: ZH (default) or EN.",
    "Alert.reevaluation(asOf)": "Evaluate under the versions in force on this day.",
    "AlertFilter": "Which alerts to list; every given filter must match. 预警筛选。",
    "AlertFilter.status": "Only alerts in this state.",
    "AlertFilter.regionCodes": "Only these regions (and their villages), within yours.",
    "AlertFilter.rule": "Only this alert rule, e.g. alert.large_medical_expense.",
    "AlertCounts.total": "All alerts you may see.",
    "AlertCounts.byStatus": "Counts by status.",
    "AlertCounts.byRule": "Counts by alert rule.",
    "Count": "A count of something by its key. 计数。",
    "Count.key": "What is counted, e.g. OPEN or alert.housing_unsafe.",
    "Count.count": "How many.",
    "Event": "A stored department event. 部门事件。",
    "Event.id": "The stored event's id.",
    "Event.source": "The department that sent it.",
    "Event.eventId": "The sender's id for it.",
    "Event.kind": "What it reports (an EventKind value).",
    "Event.householdId": "The household's own id.",
    "Event.memberId": "The member it is about (null: the household).",
    "Event.occurredOn": "When it happened.",
    "Event.amount": "Yuan (元), to the fen.",
    "Event.value": "A grade, stage or housing grade, as text.",
    "Event.receivedAt": "When the service stored it.",
    "Event.correlatedAt": "When it was correlated with the stored household (null: not yet).",
    "EventInput.kind": "What it reports.",
    "EventInput.householdId": "The household's own id.",
    "EventInput.memberId": "The member it is about (null: the household).",
    "EventInput.occurredOn": "When it happened.",
    "SuggestedFact": "A fact the events suggest changing. 建议更新的事实。",
    "RejectedEvent": "An event not stored, and why. 被拒绝的事件。",
    "RejectedEvent.field": "The field path, e.g. events[2].memberId.",
    "RejectedEvent.code": "A stable code, e.g. REQUIRED.",
    "RejectedEvent.message": "What is wrong, in the request's language.",
    "EventsIngestPayload.rejected": "Events not stored, each with its errors.",
    "Mutation.eventsIngest(events)": "The events, at most 1,000.",
    "Mutation.alertResolve(id)": "The alert's id.",
    "Mutation.alertResolve(resolution)": "VERIFIED, INCLUDED or DISMISSED.",
    "Mutation.alertResolve(note)": "Why (required to dismiss).",
    "AlertResolvePayload.alert": "The alert as resolved (null: userErrors).",
    # -- the audit log
    "AuditEntry.id": "The entry's number (increasing).",
    "AuditEntry.at": "When it happened.",
    "AuditEntry.objectType": "The kind of object, e.g. household, ruleset.version.",
    "AuditEntry.objectId": "The object's id.",
    "AuditEntry.details": "What changed, as JSON (no household facts or names).",
    "AuditEntry.prevHash": "The entry before's entryHash.",
    "AuditEntry.entryHash": "sha256 over this entry and prevHash.",
    "AuditLogFilter.objectType": "Only this kind of object.",
    "AuditLogFilter.objectId": "Only this object.",
    "AuditLogFilter.action": "Only this action, e.g. ruleset.version.publish.",
    "Viewer.name": "The token's name (a login).",
    # -- payloads and editing
    "HouseholdSavePayload.household": "The household as saved (null: userErrors).",
    "HouseholdDeterminePayload.record": "The record stored (null: userErrors).",
    "HouseholdDeterminePayload.determination": "The determination recorded.",
    "RuleSetVersionPayload.version": "The version after the change (null: userErrors).",
    "RuleSetDraftValidatePayload.version": "The version validated.",
    "RuleSetDraftValidatePayload.issues": "The document's problems.",
    "RuleSetDraftTestPayload.version": "The version tested.",
    "RuleSetDraftTestPayload.passed": "All test cases passed.",
    "RuleSetDraftTestPayload.total": "Test cases run.",
    "RuleSetDraftTestPayload.failed": "Test cases that failed.",
    "RuleSetDraftTestPayload.cases": "Each test case's result.",
    "RuleSetDraftImpactPayload.impact": "The impact report (null: userErrors).",
    "ValidationIssue.code": "A stable code, e.g. UNKNOWN_FACT.",
    "ValidationIssue.message": "What is wrong, in English with the details.",
    "ValidationIssue.severity": "ERROR or WARNING.",
    "ValidationIssue.text": "What is wrong, for people, in the language asked for: in Chinese "
                            "the code's text, then the English details. 问题说明。",
    "ValidationIssue.text(lang)": "The language: ZH (default) or EN.",
    "TestCaseResult": "One test case's result. 测试用例结果。",
    "TestCaseResult.index": "Its position in the document's test cases (0-based).",
    "TestCaseResult.name": "Its name.",
    "TestCaseResult.passed": "Whether every expectation held.",
    "TestCaseResult.failures": "The expectations that did not hold, in words.",
    "CitationInput": "A citation of a new parameter. 政策依据。",
    "CitationInput.document": "The document's title.",
    "CitationInput.clause": "The clause or section.",
    "CitationInput.quote": "The words quoted.",
    "CitationInput.url": "Where it is published.",
    "ParameterChangeInput.name": "The parameter's name.",
    "ParameterChangeInput.value": "Its new value, in its unit.",
    "ParameterChangeInput.unit": "Its unit (a new parameter only), e.g. yuan/person/year.",
    "ParameterChangeInput.citation": "Its citation (a new parameter only).",
    "Mutation.ruleSetDraftCreate(ruleSet)": "The rule set's code.",
    "Mutation.ruleSetDraftCreate(from)": "The published version to start from (default: the "
                                         "latest).",
    "Mutation.ruleSetDraftUpdate(document)": "The whole document as JSON (as "
                                             "RuleSetVersion.document gives it).",
    "Mutation.ruleSetDraftUpdate(parameters)": "Parameter values to change instead of a "
                                               "whole document.",
    "Mutation.ruleSetDraftValidate(document)": "A document to validate instead of the "
                                               "stored one.",
    "Mutation.ruleSetDraftImpact(asOf)": "Evaluate stored households as of this day.",
    "Mutation.ruleSetDraftImpact(regionCodes)": "Only households of these regions.",
    "Mutation.ruleSetDraftImpact(first)": "How many changed households to list.",
    "Mutation.ruleSetVersionPublish(effectiveFrom)": "The first day it is in force.",
    "Mutation.ruleSetVersionPublish(retroactive)": "Confirms an effectiveFrom in the past.",
    "Mutation.ruleSetVersionPublish(reason)": "Why (required when retroactive).",
    "Mutation.ruleSetVersionReject(comment)": "What the author should change.",
    "Mutation.ruleSetVersionRetire(reason)": "Why it is retired.",
    "Mutation.ruleSetVersionWithdraw(reason)": "Why it is withdrawn from review.",
    # -- impact
    "ImpactReport.asOf": "The day evaluated.",
    "ImpactReport.version": "The draft.",
    "ImpactReport.gained": "Households that gain an outcome and lose none.",
    "ImpactReport.lost": "Households that lose an outcome and gain none.",
    "ImpactReport.changed": "Households with other changes.",
    "ImpactReport.unchanged": "Households whose outcomes stay the same.",
    "ImpactReport.annualAmountBefore": "Yuan a year, all households, under the baseline.",
    "ImpactReport.annualAmountAfter": "Yuan a year, all households, under the draft.",
    "ImpactReport.oneOffAmountBefore": "One-off yuan, all households, under the baseline.",
    "ImpactReport.oneOffAmountAfter": "One-off yuan, all households, under the draft.",
    "ImpactReport.byRegion": "The same, by region.",
    "ImpactReport.seconds": "How long the preview took.",
    "RegionImpact": "An impact preview's figures for one region. 分地区影响。",
    "RegionImpact.regionCode": "The region's code.",
    "RegionImpact.households": "Households evaluated.",
    "RegionImpact.gained": "Households that gain.",
    "RegionImpact.lost": "Households that lose.",
    "RegionImpact.changed": "Households with other changes.",
    "RegionImpact.annualAmountBefore": "Yuan a year, under the baseline.",
    "RegionImpact.annualAmountAfter": "Yuan a year, under the draft.",
    "RegionImpact.oneOffAmountBefore": "One-off yuan, under the baseline.",
    "RegionImpact.oneOffAmountAfter": "One-off yuan, under the draft.",
    "HouseholdChange.householdId": "The household's id (or a pseudonym).",
    "HouseholdChange.regionCode": "Its region code.",
    "HouseholdChange.kind": "GAINED, LOST or CHANGED.",
    "HouseholdChange.annualAmountBefore": "Yuan a year, the household's, under the baseline.",
    "HouseholdChange.annualAmountAfter": "Yuan a year, the household's, under the draft.",
    "HouseholdChange.outcomes": "The outcomes that change.",
    "OutcomeChange.code": "The outcome's code.",
    "OutcomeChange.memberId": "The member (null: the household).",
    "OutcomeChange.kind": "How it changes.",
    "OutcomeChange.before": "Under the baseline (null: not given).",
    "OutcomeChange.after": "Under the draft (null: not given).",
}
# Each error code: its Chinese text (the general words, without an error's details) and its
# meaning in English.
_PLACEHOLDER = re.compile(r" ?\{\w+\} ?")
DESCRIPTIONS.update({f"ErrorCode.{code}": _PLACEHOLDER.sub("", chinese(code)) + f" / {EN[code]}"
                     for code in ZH})

# Monitoring cases (监测对象识别), visits, assistance measures and the household timeline: what
# graphql_api/cases.py does not describe where it defines them.
_ACTOR = "(role:login, as the audit log names it)"
DESCRIPTIONS.update({
    # -- enums
    "MonitoringCaseKind.INCLUSION": "纳入监测 / Inclusion: approval makes the household a "
                                    "monitoring object (monitored, monitoredSince).",
    "MonitoringCaseKind.RISK_ELIMINATION": "风险消除 / Risk elimination: approval clears "
                                           "monitored and removes monitoredSince.",
    "MonitoringCaseStatus.OPEN": "办理中 / Open: the procedure is running.",
    "MonitoringCaseStatus.APPROVED": "已审定 / Approved by the county; the household was saved "
                                     "as monitored (or cleared).",
    "MonitoringCaseStatus.REJECTED": "不予通过 / Rejected at some step, with a reason.",
    "MonitoringCaseStep.VERIFICATION": "入户核查 / Home verification by two cadres; the "
                                       "determination is attached.",
    "MonitoringCaseStep.COMPARISON": "部门比对 / Comparison with department events and alerts "
                                     "of the window (comparisonWindowDays).",
    "MonitoringCaseStep.VILLAGE_REVIEW": "民主评议、公示 / Village democratic review and the "
                                         "public notice (noticeCalendarDays), objections "
                                         "recorded.",
    "MonitoringCaseStep.TOWNSHIP_REVIEW": "乡镇审核 / Township review (a township officer).",
    "MonitoringCaseStep.COUNTY_APPROVAL": "县级审定 / County approval (a county officer, "
                                          "another user than the township reviewer).",
    "MonitoringCaseChannel.ALERT": "部门信息比对 / From an alert (alertId).",
    "MonitoringCaseChannel.APPLICATION": "主动申请 / The household's own application "
                                         "(applicationSignedOn).",
    "MonitoringCaseChannel.VISIT": "干部定期回访 / From a cadre's visit (visitId).",
    "MonitoringCaseDecision.APPROVE": "通过 / Approve: on to the next step; at COUNTY_APPROVAL "
                                      "the case closes as APPROVED.",
    "MonitoringCaseDecision.RETURN": "退回 / Return (a reason required) to returnTo or the step "
                                     "before; that step starts again.",
    "MonitoringCaseDecision.REJECT": "不予通过 / Reject (a reason required): the case closes as "
                                     "REJECTED.",
    "TimelineKind.VISIT": "走访 / A cadre's visit (ref: the visit's id).",
    "TimelineKind.REVISION": "家庭信息修订 / A revision of the household's facts (ref: "
                             "householdId@revision).",
    "TimelineKind.DETERMINATION": "认定 / A recorded determination (ref: the record's id).",
    "TimelineKind.ALERT": "预警 / An alert raised for the household (ref: the alert's id).",
    "TimelineKind.CASE": "监测案件 / An action on one of its monitoring cases (ref: the case's "
                         "id).",
    # -- monitoring cases
    "MonitoringCase.id": "The case's id (monitoringCase(id:) takes it; nodeId is the global "
                         "id).",
    "MonitoringCase.householdId": "The household's own id, e.g. hh-001.",
    "MonitoringCase.regionCode": "The household's region code (at opening, or as verified at "
                                 "VERIFICATION): who may see and act on the case.",
    "MonitoringCase.kind": "What the case decides: INCLUSION or RISK_ELIMINATION.",
    "MonitoringCase.channel": "How the risk came to light: ALERT, APPLICATION or VISIT.",
    "MonitoringCase.status": "OPEN, APPROVED or REJECTED.",
    "MonitoringCase.alertId": "ALERT: the alert it was opened from (null otherwise).",
    "MonitoringCase.visitId": "VISIT: the visit it was opened from (null otherwise).",
    "MonitoringCase.note": "The note written when the case was opened.",
    "MonitoringCase.openedOn": "The day it was opened (deadlines count from it).",
    "MonitoringCase.openedAt": "When it was opened.",
    "MonitoringCase.openedBy": f"Who opened it {_ACTOR}.",
    "MonitoringCase.stepStartedOn": "The day the current step began (its due day counts "
                                    "from it).",
    "MonitoringCase.noticeStartedOn": "VILLAGE_REVIEW: the public notice's first day (null "
                                      "until recorded).",
    "MonitoringCase.objections": "VILLAGE_REVIEW: objections raised during the notice, as "
                                 "recorded (empty: none).",
    "MonitoringCase.criteriaReasonBy": f"Who recorded criteriaReason {_ACTOR}.",
    "MonitoringCase.townshipReviewer": "Who approved the township review "
                                       f"{_ACTOR}; the county approval must be another user.",
    "MonitoringCase.closedOn": "The day the case closed (approved or rejected; null while "
                               "open).",
    "MonitoringCase.closedBy": f"Who closed it {_ACTOR}.",
    "MonitoringCase.closeReason": "REJECTED: the reason given (null otherwise).",
    "MonitoringCase.determinationId": "The determination record attached at VERIFICATION "
                                      "(null until then).",
    "MonitoringCaseEntry.id": "The entry's id (entries are append-only).",
    "MonitoringCaseEntry.step": "The step it was done at.",
    "MonitoringCaseEntry.action": "OPEN, RECORD (a step's record), APPROVE, RETURN or REJECT.",
    "MonitoringCaseEntry.at": "When it was done.",
    "MonitoringCaseEntry.actor": f"Who did it {_ACTOR}.",
    "MonitoringCaseFilter": "Which monitoring cases to list; every given filter must match. "
                            "案件筛选。",
    "MonitoringCaseFilter.status": "Only cases in this status.",
    "MonitoringCaseFilter.kind": "Only cases of this kind.",
    "MonitoringCaseFilter.householdId": "Only the cases of this household (its own id).",
    "MonitoringCaseOverdueCount.regionCode": "The township's or county's region code.",
    "MonitoringCaseOverdueCount.count": "Its overdue open cases (that you may see).",
    "MonitoringCaseOpenInput": "A monitoring case to open: the household, the kind and the "
                               "channel. 开启监测案件。",
    "MonitoringCaseOpenInput.householdId": "The household's own id (of your region).",
    "MonitoringCaseOpenInput.kind": "INCLUSION (the household is not monitored) or "
                                    "RISK_ELIMINATION (it is).",
    "MonitoringCaseOpenInput.channel": "ALERT (with alertId), APPLICATION (with "
                                       "applicationSignedOn) or VISIT (with visitId).",
    "MonitoringCaseOpenInput.alertId": "ALERT: the alert's id (of the same household).",
    "MonitoringCaseOpenInput.visitId": "VISIT: the visit's id (of the same household).",
    "MonitoringCaseOpenInput.note": "A note on why the case is opened (shown to reviewers).",
    "MonitoringCaseStepInput.household": "VERIFICATION: the household's facts as verified "
                                         "(whole), saved as a new revision if they changed; "
                                         "null: the stored facts.",
    "MonitoringCaseStepInput.verifiers": "VERIFICATION: the names of the two cadres who "
                                         "verified at home.",
    "MonitoringCaseStepInput.note": "A note on the step (any step).",
    "MonitoringCaseStepInput.noticeStartedOn": "VILLAGE_REVIEW: the public notice's first day "
                                               "(not before the step began, not after today).",
    "MonitoringCaseStepInput.objections": "VILLAGE_REVIEW: the objections raised (empty: "
                                          "none).",
    "MonitoringCaseStepInput.criteriaReason": "VERIFICATION or COMPARISON: why the kind's "
                                              "criteria are met by facts the engine does not "
                                              "see (free text, shown to reviewers).",
    "MonitoringCaseOpenPayload.monitoringCase": "The case as opened (null: userErrors).",
    "MonitoringCaseRecordStepPayload.monitoringCase": "The case with the record (null: "
                                                      "userErrors).",
    "MonitoringCaseDecidePayload.monitoringCase": "The case as decided (null: userErrors).",
    "Query.monitoringCases(filter)": "Only cases matching every given filter (null: all you "
                                     "may see).",
    "Query.monitoringCaseOverdueCounts(regionCodes)": "Only cases of these regions (and their "
                                                      "villages), within yours; null: all of "
                                                      "yours.",
    "Mutation.monitoringCaseOpen(input)": "The household, kind, channel and its reference.",
    "Mutation.monitoringCaseRecordStep(step)": "The step being recorded: must be the case's "
                                               "current step.",
    "Mutation.monitoringCaseRecordStep(record)": "What was done at the step.",
    "Mutation.monitoringCaseDecide(decision)": "APPROVE, RETURN or REJECT the current step.",
    "Mutation.monitoringCaseDecide(reason)": "Why (required for RETURN and REJECT; shown to "
                                             "the caseworkers).",
    "Mutation.monitoringCaseDecide(returnTo)": "RETURN: the earlier step to go back to "
                                               "(null: the step before).",
    # -- visits, the timeline, assistance
    "Visit.id": "The visit's id.",
    "Visit.householdId": "The household's own id.",
    "Visit.regionCode": "The household's region code at the visit.",
    "Visit.visitedOn": "The day of the visit.",
    "Visit.observations": "What was seen, as the cadre wrote it.",
    "Visit.recordedBy": f"Who recorded it {_ACTOR}.",
    "Visit.recordedAt": "When it was recorded.",
    "VisitInput": "A visit to record: the household, the day and what was seen. 记录走访。",
    "VisitInput.householdId": "The household's own id (of your region).",
    "VisitInput.visitedOn": "The day of the visit (not after today).",
    "VisitRecordPayload.visit": "The visit as recorded (null: userErrors).",
    "VisitRecordPayload.monitoringCase": "The case openCase opened (null: none asked, or "
                                         "userErrors).",
    "Mutation.visitRecord(input)": "The household, the day, what was seen and, optionally, "
                                   "the facts as found and a case to open.",
    "TimelineEntry.at": "When it happened (the timeline is newest first).",
    "TimelineEntry.on": "The day it concerns: the visit's day, a determination's asOf, a "
                        "case entry's day, otherwise the day of at.",
    "TimelineEntry.kind": "VISIT, REVISION, DETERMINATION, ALERT or CASE.",
    "TimelineEntry.actor": f"Who did it {_ACTOR}; null for an alert (raised by the rules).",
    "TimelineEntry.title": "A one-line summary in the language asked for.",
    "Assistance.householdId": "The household's own id.",
    "Assistance.asOf": "The asOf of the determination the risks come from (null: none "
                       "recorded).",
    "Assistance.risks": "Each risk the latest determination grants, with its measures.",
    "AssistanceRisk.code": "The risk's outcome code, e.g. monitoring.unstable_alleviated.",
    "AssistanceRisk.title": "The risk's name in the language asked for.",
    "AssistanceRisk.measures": "The measures against it: granted benefits and recorded "
                               "measures (empty: none).",
    "AssistanceMeasure.source": "BENEFIT (a benefit the determination grants) or RECORDED "
                                "(recorded by hand).",
    "AssistanceMeasure.title": "The measure's name in the language asked for (RECORDED: the "
                               "text as recorded).",
    "AssistanceMeasure.memberId": "BENEFIT: the member it is granted to (null: the "
                                  "household).",
    "AssistanceMeasure.startedOn": "RECORDED: the day the measure started.",
    "AssistanceMeasure.recordedBy": f"RECORDED: who recorded it {_ACTOR}.",
    "AssistanceMeasure.note": "RECORDED: the note recorded with it.",
    "AssistanceMeasureInput": "A measure to record against one risk of a monitored "
                              "household. 记录帮扶措施。",
    "AssistanceMeasureInput.householdId": "The monitored household's own id (of your region).",
    "AssistanceMeasureInput.startedOn": "The day the measure started (not after today).",
    "AssistanceMeasureInput.note": "A note on the measure.",
    "AssistanceMeasureRecordPayload.measure": "The measure as recorded (null: userErrors).",
    "Mutation.assistanceMeasureRecord(input)": "The household, the risk, the measure and the "
                                               "day it started.",
})

# What every connection, edge and payload shares: (type pattern, field or None, text).
_PATTERNS: list[tuple[str, str | None, str]] = [
    (r"(\w+)Connection", None, "A page of {0} (a Relay connection). 分页列表。"),
    (r"\w+Connection", "edges", "This page's items, each with its cursor."),
    (r"\w+Connection", "pageInfo", "Where this page lies: cursors for the next and previous "
                                   "pages."),
    (r"\w+Connection", "totalCount", "All items that match, on every page."),
    (r"(\w+)Edge", None, "One {0} in a connection, with its cursor (a Relay edge)."),
    (r"\w+Edge", "cursor", "This item's position: after and before take it."),
    (r"\w+Edge", "node", "The item."),
    (r"(\w+)Payload", None, "What the mutation returns: the result, or userErrors. 变更结果。"),
    (r"\w+Payload", "userErrors", "Expected failures: the field path, a stable code and a "
                                  "message in the request's language; empty on success."),
]
_ARGS: dict[str, str] = {
    "first": "How many items from the start (1 to 100).",
    "after": "Only items after this cursor (an edge's cursor or pageInfo.endCursor).",
    "lang": "The language: ZH (default) or EN.",
    "expectedRevision": _REVISION,
}


def describe_schema(schema: GraphQLSchema) -> None:
    """Fill in the descriptions the code left out (in place)."""

    def fill(obj: object, key: str) -> None:
        if not getattr(obj, "description", None) and key in DESCRIPTIONS:
            obj.description = DESCRIPTIONS[key]  # type: ignore[attr-defined]

    for name, t in schema.type_map.items():
        if name.startswith("__"):
            continue
        fill(t, name)
        for pattern, field, text in _PATTERNS:
            m = re.fullmatch(pattern, name)
            if m is None:
                continue
            if field is None and not t.description:
                t.description = text.format(*m.groups())
            fields = getattr(t, "fields", {})
            if field is not None and field in fields and not fields[field].description:
                fields[field].description = text
        if isinstance(t, GraphQLEnumType):
            for value_name, value in t.values.items():
                fill(value, f"{name}.{value_name}")
        if isinstance(t, GraphQLInputObjectType):
            for field_name, f in t.fields.items():
                fill(f, f"{name}.{field_name}")
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, f in t.fields.items():
                fill(f, f"{name}.{field_name}")
                for arg_name, arg in f.args.items():
                    fill(arg, f"{name}.{field_name}({arg_name})")
                    if not arg.description and arg_name in _ARGS:
                        arg.description = _ARGS[arg_name]
                    if not arg.description and arg_name == "id":
                        arg.description = _ID_ARG
