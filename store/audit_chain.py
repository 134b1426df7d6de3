"""The audit log's hash chain: each entry's hash covers its content and the hash before it,
so changing, removing or inserting an entry anywhere but at the very end breaks every link
after it, whatever database permissions the one who did it had.

    entry_hash = sha256(canonical JSON of
                 ["v1", prev_hash, at, actor, action, object_type, object_id, details])

The first entry's ``prev_hash`` is ``GENESIS``. Entries are chained in id order; the store
serialises appends (``AuditLog.append``) so ids and the chain agree. A chain cut at its end
cannot show it by itself: keep the head (``policy-engine verify`` prints it) somewhere else
and check it later with ``--anchor``.

>>> digest(GENESIS, datetime(2024, 3, 1, tzinfo=UTC), "system:cli", "token.create", "token",
...        "t-1", {})[:16]
'5c65e9d2febb2b2a'
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
CHAIN_VERSION = "v1"


def digest(prev_hash: str, at: datetime, actor: str, action: str, object_type: str,
           object_id: str, details: Any) -> str:
    """The hash of one audit entry chained to ``prev_hash``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # read back from a column without a zone: stored as UTC
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    payload = json.dumps(
        [CHAIN_VERSION, prev_hash, stamp, actor, action, object_type, object_id, details],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
