"""Logins: how a person is named once, whatever way their name was typed.

``normalise_login`` is the one rule: Unicode NFKC (full-width ``ａｌｉｃｅ`` is ``alice``), case
folded, surrounding spaces trimmed and inner runs of spaces made one. Two tokens whose names
normalise alike belong to one user, so the four-eyes check cannot be passed by a variant.

>>> normalise_login("  ＡＬＩＣＥ ")
'alice'
>>> normalise_login("Zhang  San")
'zhang san'
"""

from __future__ import annotations

import re
import unicodedata

MAX_LOGIN_LENGTH = 64  # fits "policy_approver:<login>" in the 100-character actor columns

_SPACES = re.compile(r"\s+")


class InvalidLogin(ValueError):
    """A name that cannot be a login (empty, too long, control characters, a colon)."""


def normalise_login(name: str) -> str:
    """The login a name stands for (see the module's docstring); ``InvalidLogin`` when the
    name cannot be one."""
    login = _SPACES.sub(" ", unicodedata.normalize("NFKC", name).casefold()).strip()
    if not login:
        raise InvalidLogin("a login cannot be empty")
    if len(login) > MAX_LOGIN_LENGTH:
        raise InvalidLogin(f"a login has at most {MAX_LOGIN_LENGTH} characters, "
                           f"got {len(login)}")
    if any(unicodedata.category(c).startswith("C") for c in login):
        raise InvalidLogin("a login cannot contain control or unassigned characters")
    if ":" in login:
        # The audit log names a caller "role:login"; a colon would make that ambiguous.
        raise InvalidLogin("a login cannot contain ':'")
    return login
