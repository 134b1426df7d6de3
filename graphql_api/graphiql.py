"""GraphiQL in dev, offline: strawberry's GraphiQL page with its scripts and styles served by
the service itself (vendored unchanged from their npm packages into static/vendor/, see
static/vendor/VENDORED.md) instead of a public CDN, so it works on an intranet without internet.
The page keeps its Subresource Integrity hashes: the browser refuses a vendored file that is not
byte for byte the one strawberry's page names."""

from __future__ import annotations

import re

# The CDN strawberry's page loads from (a pattern, so any scheme strawberry may write).
CDN = re.compile(r"(?:https?:)?//unpkg\.com/")
LOCAL = "vendor/"  # relative to /graphql, i.e. /vendor/

# Everything on the page from the service (GraphiQL's inline start-up script and styles, its
# fonts as data: URLs, its requests to /graphql over HTTP or a same-origin WebSocket).
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'")

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


class ExternalAsset(RuntimeError):
    """The GraphiQL page still loads something from another origin."""


def offline_page(html: str) -> str:
    """strawberry's GraphiQL page with the CDN replaced by the vendored copies; refuses (rather
    than serve a page that would hang on "Loading...") if anything external is left."""
    page = CDN.sub(LOCAL, html)
    left = _EXTERNAL.search(page)
    if left is not None:
        excerpt = page[left.start():][:120]
        raise ExternalAsset(f"GraphiQL page still loads from elsewhere: {excerpt}")
    return page
