"""The GraphQL documents the benchmarks post and the tests that compare answers share: query A
asks for the outcomes only, query B for the full explanation (every field, reasons, conditions
and citations)."""

QUERY_A = """query A($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
  outcomes { code title status memberId amount period } } }"""
QUERY_B = """query B($h: HouseholdInput!) { evaluate(household: $h, asOf: "2024-06-01") {
  asOf flaggedForMonitoring flaggedBy
  programs { program ruleSetVersion { id ruleSet version status effectiveFrom effectiveTo
    contentHash } }
  outcomes { code title memberId status amount period terms { key value unit }
    reasons { ruleId text citation { document clause quote url }
      conditions { expression actual expected passed } }
    missingFacts } } }"""
