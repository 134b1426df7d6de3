// Texts of the console, Chinese first with English. Closed sets carry their Chinese labels here
// (the values are the API's, policy/facts.py).

const KEY = "policy-engine.lang";
let lang = localStorage.getItem(KEY) === "en" ? "en" : "zh";

export function currentLang() {
  return lang;
}

export function setLang(value) {
  lang = value === "en" ? "en" : "zh";
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

/** The API's Lang enum for the current language. */
export function apiLang() {
  return lang === "zh" ? "ZH" : "EN";
}

const T = {
  appTitle: ["防返贫监测与帮扶政策引擎", "Poverty-relapse prevention policy engine"],
  skip: ["跳到正文", "Skip to content"],
  language: ["语言", "Language"],
  navCheck: ["家庭核查", "Household check"],
  navHouseholds: ["已存家庭", "Saved households"],
  navRuleSets: ["规则集", "Rule sets"],
  navQueue: ["待审批", "Review queue"],
  navAudit: ["审计日志", "Audit log"],
  navAlerts: ["预警信息", "Alerts"],
  navQuery: ["查询台", "Query"],
  signIn: ["登录", "Sign in"],
  signOut: ["退出", "Sign out"],
  signInTitle: ["使用令牌登录", "Sign in with a token"],
  signInHelp: ["令牌由管理员用 policy-engine token create 签发；只保存在本浏览器标签页中。",
    "Tokens are issued with policy-engine token create; kept in this browser tab only."],
  tokenLabel: ["访问令牌", "Access token"],
  anonymous: ["未登录（开发模式）", "Not signed in (dev)"],
  role: ["角色", "Role"],
  regions: ["辖区", "Regions"],
  department: ["部门", "Department"],
  mayDo: ["可执行操作", "You may"],
  badToken: ["令牌无效或已吊销", "The token is unknown or revoked"],
  // household form
  checkTitle: ["家庭帮扶核查", "Household check"],
  householdFacts: ["家庭信息", "Household facts"],
  members: ["家庭成员", "Members"],
  member: ["成员", "Member"],
  addMember: ["添加成员", "Add member"],
  removeMember: ["删除成员", "Remove member"],
  asOf: ["核查日期", "As of"],
  evaluate: ["开始核查", "Evaluate"],
  evaluating: ["正在核查…", "Evaluating…"],
  save: ["保存家庭", "Save household"],
  saved: ["已保存，版本", "Saved, revision"],
  record: ["保存并记录认定", "Save and record determination"],
  recorded: ["认定已记录", "Determination recorded"],
  print: ["打印摘要", "Print summary"],
  loadFixture: ["载入示例家庭", "Load a sample household"],
  unknownHint: ["留空表示未知", "leave empty if unknown"],
  yuan: ["元", "yuan"],
  fixErrors: ["请更正标出的字段", "Please correct the marked fields"],
  otherErrors: ["其他问题", "Other problems"],
  // results
  results: ["核查结果", "Result"],
  flagged: ["纳入防返贫监测", "Flagged for monitoring"],
  notFlagged: ["未触发监测", "Not flagged for monitoring"],
  flaggedBy: ["触发依据", "Flagged by"],
  granted: ["符合", "Granted"],
  notGranted: ["不符合", "Not granted"],
  undetermined: ["待定", "Undetermined"],
  household: ["全户", "Household"],
  perMonth: ["元/月", "yuan/month"],
  perYear: ["元/年", "yuan/year"],
  once: ["元（一次性）", "yuan (once)"],
  inKind: ["非现金 / 待遇", "in kind / terms"],
  yearlyTotal: ["全户年度合计", "Household yearly total"],
  oneOffTotal: ["一次性合计", "One-off total"],
  monthlyTimes12: ["按月发放的计12个月", "monthly amounts counted 12 times"],
  reasons: ["理由", "Reasons"],
  why: ["为什么", "Why"],
  whyNot: ["未通过的条件", "Failed conditions"],
  missing: ["需补充的信息", "Facts to collect"],
  whatWouldChange: ["怎样会改变结果", "What would change the answer"],
  condition: ["条件", "Condition"],
  actual: ["实际值", "Actual"],
  expected: ["标准", "Threshold"],
  passed: ["通过", "passed"],
  failed: ["未通过", "failed"],
  unknown: ["未知", "unknown"],
  citation: ["政策依据", "Citation"],
  version: ["版本", "Version"],
  contentHash: ["内容哈希", "Content hash"],
  sample: ["示例值", "sample value"],
  sampleNote: ["该数额来自标注为示例的参数，并非县里确定的标准", "From a parameter marked sample, not the county's decided figure"],
  orCarried: ["此“或”条件由标✓的分支成立", "this or held by the branch marked ✓"],
  terms: ["待遇", "Terms"],
  nothingGranted: ["本项目无符合项", "Nothing granted in this program"],
  printTitle: ["帮扶政策核查摘要", "Determination summary"],
  printedOn: ["打印日期", "Printed on"],
  versionsUsed: ["所用规则集版本", "Rule-set versions used"],
  program: ["项目", "Program"],
  item: ["项目名称", "Item"],
  amount: ["金额", "Amount"],
  who: ["对象", "For"],
  signature: ["经办人签字", "Caseworker's signature"],
  // saved households
  householdsTitle: ["已保存的家庭", "Saved households"],
  search: ["查询", "Search"],
  idPrefix: ["户编号（前缀）", "Household id (prefix)"],
  regionFilter: ["区划代码", "Region code"],
  noHouseholds: ["没有符合条件的家庭", "No households found"],
  more: ["下一页", "Next page"],
  total: ["共", "Total"],
  revision: ["修订", "Revision"],
  updatedAt: ["更新时间", "Updated"],
  open: ["打开", "Open"],
  notFound: ["未找到该家庭，或不在您的辖区内", "No such household, or not in your regions"],
  determinations: ["历次认定", "Past determinations"],
  determineNow: ["按日期认定并记录", "Determine and record"],
  replay: ["重放", "Replay"],
  replayIdentical: ["重放结果与记录完全一致", "The replay reproduces the record exactly"],
  replayDiffers: ["重放结果与记录不一致", "The replay differs from the record"],
  createdAt: ["记录时间", "Recorded at"],
  createdBy: ["记录人", "Recorded by"],
  editInCheck: ["在核查页中编辑", "Edit in the check page"],
  openHousehold: ["打开家庭", "Open household"],
  // rule sets
  ruleSetsTitle: ["规则集与版本", "Rule sets and versions"],
  owner: ["负责部门", "Owner"],
  status: ["状态", "Status"],
  effectiveFrom: ["生效日期", "Effective from"],
  effectiveTo: ["失效日期", "Effective to"],
  newDraft: ["新建草稿", "New draft"],
  openVersion: ["查看", "Open"],
  author: ["起草人", "Author"],
  submittedBy: ["提交人", "Submitted by"],
  publishedBy: ["发布人", "Published by"],
  basedOn: ["起草自", "Drafted from"],
  parameters: ["参数", "Parameters"],
  value: ["数值", "Value"],
  unit: ["单位", "Unit"],
  document: ["文件", "Document"],
  clause: ["条款", "Clause"],
  quote: ["原文", "Quote"],
  rules: ["规则", "Rules"],
  definitions: ["定义", "Definitions"],
  tests: ["测试用例", "Test cases"],
  testName: ["用例名称", "Test name"],
  testHousehold: ["家庭信息（JSON）", "Household (JSON)"],
  expectations: ["预期结果", "Expected outcomes"],
  outcome: ["结果代码", "Outcome code"],
  memberId: ["成员编号", "Member id"],
  addExpectation: ["添加预期", "Add expectation"],
  remove: ["删除", "Remove"],
  addTest: ["添加用例", "Add test case"],
  removeTest: ["删除用例", "Remove test case"],
  saveDraft: ["保存草稿", "Save draft"],
  draftSaved: ["草稿已保存，修订号", "Draft saved, revision"],
  validate: ["校验", "Validate"],
  valid: ["校验通过", "Valid"],
  runTests: ["运行测试", "Run tests"],
  runOneTest: ["运行此用例", "Run this test"],
  testsPassed: ["全部通过", "All passed"],
  testsFailed: ["未通过", "failed"],
  diff: ["与在用版本的差异", "Diff against the version in force"],
  showDiff: ["查看差异", "Show diff"],
  noDiff: ["内容相同", "Same content"],
  impact: ["影响预估", "Impact preview"],
  runImpact: ["预估影响", "Preview impact"],
  households: ["户数", "Households"],
  gained: ["新增享受", "Gain"],
  lost: ["不再享受", "Lose"],
  changed: ["待遇变化", "Change"],
  unchanged: ["不变", "Unchanged"],
  skipped: ["跳过", "Skipped"],
  annualBefore: ["年度金额（现行）", "Annual amount (in force)"],
  annualAfter: ["年度金额（草稿）", "Annual amount (draft)"],
  byRegion: ["按区划", "By region"],
  changedHouseholds: ["变化的家庭", "Changed households"],
  before: ["现行", "In force"],
  after: ["草稿", "Draft"],
  submit: ["提交审核", "Submit for review"],
  publish: ["发布", "Publish"],
  retire: ["停用", "Retire"],
  retireReason: ["停用原因", "Reason for retiring"],
  fourEyes: ["您起草或提交了此版本，须由另一位审批人发布。",
    "You wrote or submitted this version; another approver must publish it."],
  queueTitle: ["待审批的版本", "Versions in review"],
  queueEmpty: ["没有待审批的版本", "No versions in review"],
  queueOthers: ["其他部门的待审批版本", "Other departments' versions in review"],
  queueOthersHelp: ["由各自部门的审批人发布，这里仅供查看。",
    "Their own departments' approvers publish them; listed here to read."],
  otherDepartment: ["此规则集的提交、发布和停用由其负责部门的审批人办理；负责部门",
    "Its own department's approvers submit, publish and retire it; owner"],
  readOnly: ["只读", "read only"],
  conflict: ["草稿已被他人修改，请重新载入", "Someone changed the draft; reload it"],
  reload: ["重新载入", "Reload"],
  done: ["完成", "Done"],
  error: ["出错", "Error"],
  loading: ["载入中…", "Loading…"],
  // audit log
  audit_actor: ["操作人", "Actor"],
  audit_objectType: ["对象类型", "Object type"],
  audit_objectId: ["对象编号", "Object id"],
  audit_action: ["操作", "Action"],
  audit_since: ["起始日期", "From"],
  audit_until: ["截止日期", "Until"],
  audit_at: ["时间", "When"],
  audit_details: ["详情", "Details"],
  auditEmpty: ["没有符合条件的记录", "No entries"],
  // early-warning alerts
  alertsTitle: ["防返贫预警信息", "Early-warning alerts"],
  alertsHelp: ["部门数据比对发现的风险线索：请入户核实，确认后纳入监测，或填写理由后驳回。",
    "Risk clues from department data: verify at home, then include in monitoring, or dismiss with a reason."],
  allStatuses: ["全部状态", "All statuses"],
  allRegions: ["全部辖区", "All my regions"],
  allRules: ["全部类型", "All kinds"],
  alertKind: ["预警类型", "Kind"],
  alertRule: ["预警规则", "Rule"],
  alertCause: ["预警事由", "Cause"],
  raisedAt: ["预警时间", "Raised"],
  eventCount: ["事件数", "Events"],
  byRule: ["按预警类型统计（全部状态）", "By kind (all statuses)"],
  noAlerts: ["没有符合条件的预警", "No alerts"],
  alertNotFound: ["未找到该预警，或不在您的辖区内", "No such alert, or not in your regions"],
  alertEvents: ["部门比对事件", "Department events"],
  occurredOn: ["发生日期", "Occurred on"],
  eventSource: ["报送部门", "Department"],
  eventKind: ["事件类型", "Event"],
  eventValue: ["金额 / 等级", "Amount / grade"],
  receivedAt: ["接收时间", "Received"],
  alertWhy: ["预警依据", "Why it was raised"],
  suggestedFacts: ["建议更新的家庭信息", "Suggested fact changes"],
  suggestedHelp: ["核实属实后，这些信息应记入家庭档案。", "If verified, these facts belong in the household's record."],
  reevaluation: ["按建议信息重新认定（不保存）", "Re-evaluated with the suggested facts (not stored)"],
  reevaluate: ["预览认定结果", "Preview the determination"],
  resolveTitle: ["处理预警", "Act on the alert"],
  resolveHelpOpen: ["入户核实后点“核实属实”；不属实或已处理的，填写理由后驳回。",
    "After the home visit, verify it; if it does not hold, dismiss it with a reason."],
  resolveHelpVerified: ["已核实：可纳入防返贫监测，或填写理由后驳回。",
    "Verified: include the household in monitoring, or dismiss with a reason."],
  resolveVerify: ["核实属实", "Verify"],
  resolveInclude: ["纳入监测", "Include in monitoring"],
  resolveDismiss: ["驳回", "Dismiss"],
  resolutionNote: ["处理说明 / 驳回理由", "Note / reason for dismissing"],
  noteRequired: ["驳回预警须填写理由", "A reason is required to dismiss an alert"],
  resolvedBy: ["处理人", "Resolved by"],
  // query page
  queryTitle: ["GraphQL 查询台", "GraphQL query page"],
  queryText: ["查询语句", "Query"],
  variables: ["变量（JSON）", "Variables (JSON)"],
  run: ["执行", "Run"],
  response: ["响应", "Response"],
  graphiqlLink: ["完整的 GraphiQL（开发模式，资源由本服务提供）", "Full GraphiQL (dev mode, assets served here)"],
};

/** The text for key in the current language (the key itself when unknown). */
export function t(key) {
  const pair = T[key];
  if (!pair) return key;
  return lang === "zh" ? pair[0] : pair[1];
}

// Closed sets: value -> [zh, en].
export const ENUMS = {
  relation: {
    HEAD: ["户主", "Head"], SPOUSE: ["配偶", "Spouse"], CHILD: ["子女", "Child"],
    CHILD_IN_LAW: ["儿媳/女婿", "Child-in-law"], GRANDCHILD: ["孙子女", "Grandchild"],
    PARENT: ["父母", "Parent"], PARENT_IN_LAW: ["岳父母/公婆", "Parent-in-law"],
    GRANDPARENT: ["祖父母", "Grandparent"], SIBLING: ["兄弟姐妹", "Sibling"], OTHER: ["其他", "Other"],
  },
  schoolStage: {
    NONE: ["未在读", "Not in school"], PRESCHOOL: ["学前教育", "Preschool"],
    PRIMARY: ["小学", "Primary"], JUNIOR: ["初中", "Junior high"], SENIOR: ["普通高中", "Senior high"],
    SECONDARY_VOCATIONAL: ["中等职业教育", "Secondary vocational"],
    HIGHER_VOCATIONAL: ["高等职业教育", "Higher vocational"], UNDERGRADUATE: ["本科", "Undergraduate"],
  },
  disabilityKind: {
    VISUAL: ["视力残疾", "Visual"], HEARING: ["听力残疾", "Hearing"], SPEECH: ["言语残疾", "Speech"],
    PHYSICAL: ["肢体残疾", "Physical"], INTELLECTUAL: ["智力残疾", "Intellectual"],
    MENTAL: ["精神残疾", "Mental"], MULTIPLE: ["多重残疾", "Multiple"],
  },
  disabilityGrade: {
    1: ["一级", "Grade 1"], 2: ["二级", "Grade 2"], 3: ["三级", "Grade 3"], 4: ["四级", "Grade 4"],
  },
  laborCapacity: {
    FULL: ["有劳动能力", "Full"], PARTIAL: ["部分丧失劳动能力", "Partial"],
    NONE: ["无劳动能力", "None"],
  },
  housingSafetyGrade: {
    A: ["A级（安全）", "A (safe)"], B: ["B级（基本安全）", "B (basically safe)"],
    C: ["C级（局部危险）", "C (partly unsafe)"], D: ["D级（整体危险）", "D (unsafe)"],
  },
  status: {
    GRANTED: ["符合", "Granted"], NOT_GRANTED: ["不符合", "Not granted"],
    UNDETERMINED: ["待定", "Undetermined"],
  },
  versionStatus: {
    DRAFT: ["草稿", "Draft"], IN_REVIEW: ["审核中", "In review"],
    PUBLISHED: ["已发布", "Published"], RETIRED: ["已停用", "Retired"],
  },
  alertStatus: {
    OPEN: ["待核实", "Open"], VERIFIED: ["已核实", "Verified"],
    INCLUDED: ["已纳入监测", "Included"], DISMISSED: ["已驳回", "Dismissed"],
  },
  eventKind: {
    INPATIENT_COST: ["住院自付费用", "Inpatient cost"], DIBAO_GRANTED: ["纳入低保", "Dibao granted"],
    TEMPORARY_RELIEF_GRANTED: ["临时救助", "Temporary relief"],
    DISABILITY_CERTIFIED: ["残疾等级认定", "Disability certified"], SCHOOL_DROPOUT: ["辍学", "School dropout"],
    HOUSING_REGRADED: ["住房安全等级变更", "Housing re-graded"], INCOME_REPORTED: ["收入申报", "Income reported"],
  },
  role: {
    caseworker: ["乡镇/村干部", "Caseworker"], policy_editor: ["政策编辑", "Policy editor"],
    policy_approver: ["政策审批人", "Policy approver"], auditor: ["审计人员", "Auditor"],
    api_client: ["接口客户端", "API client"],
  },
  ability: {
    evaluate: ["核查家庭", "evaluate households"], readRuleSets: ["查看规则集", "read rule sets"],
    seeDrafts: ["查看草稿", "see drafts"], readHouseholds: ["查看已存家庭", "read saved households"],
    saveHouseholds: ["保存家庭", "save households"], editRuleSets: ["编辑本部门规则集", "edit your department's rule sets"],
    approve: ["提交/发布/停用本部门版本", "submit, publish, retire your department's versions"], readAudit: ["查看审计日志", "read the audit log"],
    readAlerts: ["查看预警", "read alerts"], resolveAlerts: ["处理本辖区预警", "act on your regions' alerts"],
  },
  termKey: {
    premiumSubsidy: ["参保资助", "Premium subsidy"], deductible: ["起付线", "Deductible"],
    ratio: ["救助比例", "Relief ratio"], annualCap: ["年度救助限额", "Annual cap"],
    estimatedRelief: ["预计救助金额", "Estimated relief"],
  },
  changeKind: {
    ADDED: ["新增", "added"], REMOVED: ["删除", "removed"], CHANGED: ["修改", "changed"],
    GAINED: ["新增享受", "gains"], LOST: ["不再享受", "loses"], AMOUNT: ["金额变化", "amount"],
    TIER: ["档次变化", "tier"], STATUS: ["状态变化", "status"],
  },
};

/** The label of a closed-set value in the current language. */
export function label(set, value) {
  const pair = (ENUMS[set] || {})[value];
  if (!pair) return String(value);
  return lang === "zh" ? pair[0] : pair[1];
}

// The API's field-error codes (policy/facts.py), in words a caseworker reads.
const ERROR_TEXTS = {
  BIRTH_AFTER_AS_OF: ["出生日期晚于核查日期", "The birth date is after the evaluation date"],
  AGE_OVER_LIMIT: ["年龄超过120岁，请核对出生日期", "Over 120 years old: check the birth date"],
  NEGATIVE_AMOUNT: ["金额不能为负数", "The amount cannot be negative"],
  AMOUNT_TOO_LARGE: ["金额过大，请核对", "The amount is too large"],
  DATE_AFTER_AS_OF: ["日期晚于核查日期", "The date is after the evaluation date"],
  DUPLICATE_MEMBER_ID: ["成员编号重复", "Duplicate member id"],
  DISABILITY_GRADE_RANGE: ["残疾等级应为1-4级", "The disability grade is 1 to 4"],
  DISABILITY_KIND_REQUIRED: ["填写了残疾等级时须选择残疾类别", "A disability grade needs a kind"],
  DISABILITY_GRADE_REQUIRED: ["选择了残疾类别时须填写残疾等级", "A disability kind needs a grade"],
  NO_MEMBERS: ["家庭至少要有一名成员", "A household has at least one member"],
  TOO_MANY_MEMBERS: ["成员过多", "Too many members"],
  REQUIRED: ["必填", "Required"],
  INVALID_VALUE: ["取值无效", "Invalid value"],
  WRONG_TYPE: ["格式不正确", "Wrong format"],
  TOO_MANY_DECIMALS: ["金额最多两位小数", "At most two decimals"],
};

/** A field error in the console's words, with the API's own message kept beside it. */
export function errorText(code, message) {
  const pair = ERROR_TEXTS[code];
  if (!pair) return message || code;
  const mine = lang === "zh" ? pair[0] : pair[1];
  return message ? `${mine}（${message}）` : mine;
}
