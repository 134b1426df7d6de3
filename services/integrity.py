"""Integrity checks the service makes while it runs, and what it does when one fails.

Every rule-set version's stored document is hashed again whenever the catalog is (re)built; a
version whose document no longer hashes to its recorded ``contentHash`` is not served (an
evaluation that would use it is refused with VERSION_INTEGRITY), is logged at ERROR (the
version's id only) and is counted for ``/metrics``
(``policy_engine_integrity_failures_total{kind="content_hash_mismatch"}``). The whole store is
checked by ``policy-engine verify`` (``store.verify``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from policy.document import content_hash, load_document
from policy.errors import DocumentInvalid
from store.models import RuleSetVersion

log = logging.getLogger("policy_engine.integrity")

FAILURES: Counter[str] = Counter()  # kind -> failures seen by this process
_lock = threading.Lock()


def stored_hash_holds(version: RuleSetVersion) -> bool:
    """True when the version's stored document hashes to its recorded ``contentHash``; when
    it does not, the failure is logged and counted."""
    try:
        actual: str | None = content_hash(load_document(dict(version.document)))
    except DocumentInvalid:
        actual = None
    if actual == version.content_hash:
        return True
    if actual is None and not version.frozen:
        return True  # a draft being edited need not be a valid document yet
    with _lock:
        FAILURES["content_hash_mismatch"] += 1
    log.error("integrity: a stored rule-set version does not hash to its contentHash; it is "
              "not served (run policy-engine verify)",
              extra={"fields": {"version_id": version.id, "rule_set": version.rule_set_code,
                                "version": version.version, "status": version.status.value}})
    return False
