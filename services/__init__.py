"""Use cases: what caseworkers, policy staff and other apps do, written against the store's unit
of work and the engine. Authorization decisions are made here, once."""
