"""What a rule set *is*: facts, the condition language, rule-set documents.

This package does no I/O beyond parsing text handed to it, and imports nothing but the standard
library, pydantic and a YAML parser.
"""
