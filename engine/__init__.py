"""How a rule set *runs*: compile to durable_rules, evaluate, explain.

The engine never reads the database, the clock or the network: callers hand it the facts, the
date and the compiled versions. ``engine.durable`` alone imports durable_rules.
"""
