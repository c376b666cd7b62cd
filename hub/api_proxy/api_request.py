"""A request to the Docker API proxy, read once, strictly, into the one form the policy decides on.

The proxy's promise is that the engine acts on exactly what the policy checked. Two readers of
the same bytes can disagree: Python's `json` keeps the last of two equal keys where Go's
decoder merges both (and matches struct fields case-insensitively, folding U+017F to 's' and
U+212A to 'k'); tornado's query arguments include what follows a `#`, which an HTTP client
drops. So nothing the client sent is forwarded as it came: the request target is parsed here
and rebuilt from the parsed parts (`Target.uri`), and the body is parsed here and re-serialised
from the parsed document (`canonical_body`). Whatever the two readers could read differently
is refused before the policy sees it:

- in the target: anything but printable ASCII, `#`, a fragment or a second `?`, `;` (Go's
  query parser drops such pairs), `\\`, empty segments (`//`), `.` or `..` segments, encoded
  slashes, malformed or double percent-encoding, repeated query arguments (tornado keeps the
  last, Go the first);
- in the body: bytes that are not UTF-8, NaN or Infinity (Go refuses them, Python accepts),
  keys that are not ASCII, and two keys of one object that are equal but for ASCII case, at any
  depth (`object_pairs_hook` sees every key, duplicates included).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

# Characters a request target may hold at all: RFC 3986's unreserved ones, what docker-py leaves
# unencoded (`quote(name, safe="/:")` in paths, `urlencode` in queries) and percent-encoding.
# Not among them: `#`, `;`, `\`, space, quotes, brackets.
_PATH_CHARS = re.compile(r"^[A-Za-z0-9._~:@%+/-]*$")
_QUERY_CHARS = re.compile(r"^[A-Za-z0-9._~:@%+,=&/-]*$")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_VERSION = re.compile(r"^v([0-9]{1,2})\.([0-9]{1,3})$")


class BadRequestError(ValueError):
    """What makes a request unreadable to the proxy; the message is the 403's reason."""


@dataclass(frozen=True)
class Target:
    """A request target as the proxy read it: the API version (None when the client sent
    none), the route without the version and with every segment decoded, and the query."""

    version: str | None
    route: str
    query: dict[str, str]

    def uri(self, route: str | None = None, query: dict[str, str] | None = None) -> str:
        """The target as the proxy sends it on: every segment and argument encoded again from
        what was decided (`route` and `query` default to this target's)."""
        segments = (route if route is not None else self.route).split("/")[1:]
        path = "".join("/" + quote(segment, safe=":@") for segment in segments)
        if self.version is not None:
            path = f"/v{self.version}{path}"
        chosen = self.query if query is None else query
        return path + ("?" + urlencode(chosen) if chosen else "")


def _decoded(text: str, where: str) -> str:
    if _PERCENT.search(text):
        raise BadRequestError(f"malformed percent-encoding in the {where}")
    try:
        value = bytes(_unescape(text)).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError(f"the {where} is not UTF-8 once decoded") from None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise BadRequestError(f"a control character in the {where}")
    return value


def _unescape(text: str) -> bytearray:
    out = bytearray()
    index = 0
    while index < len(text):
        if text[index] == "%":
            out.append(int(text[index + 1 : index + 3], 16))
            index += 3
        else:
            out.append(ord(text[index]))
            index += 1
    return out


def read_target(uri: str) -> Target:
    """The request target (`request.uri`: path and query as sent), or BadRequestError."""
    if not uri.startswith("/"):
        raise BadRequestError("the request target is not an absolute path")
    raw_path, question, raw_query = uri.partition("?")
    if not _PATH_CHARS.match(raw_path) or "?" in raw_query or not _QUERY_CHARS.match(raw_query):
        raise BadRequestError("the request target holds a character the proxy does not forward")
    segments = raw_path.split("/")[1:]
    if any(segment == "" for segment in segments):
        raise BadRequestError("an empty path segment")
    decoded = [_decoded(segment, "path") for segment in segments]
    for segment in decoded:
        if segment in (".", "..") or any(char in segment for char in "/?#%\\"):
            raise BadRequestError(f"the path segment {segment!r} is refused")
    version = None
    match = _VERSION.match(decoded[0]) if decoded else None
    if match:
        version = f"{int(match.group(1))}.{int(match.group(2))}"
        decoded = decoded[1:]
    query: dict[str, str] = {}
    if _PERCENT.search(raw_query):
        raise BadRequestError("malformed percent-encoding in the query")
    if question and raw_query:
        try:
            # `+` is a space to both readers (Go's url.QueryUnescape, Python's unquote_plus).
            pairs = parse_qsl(raw_query, keep_blank_values=True, strict_parsing=True, errors="strict")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequestError(f"the query does not parse ({exc})") from None
        for key, value in pairs:
            if key in query:
                raise BadRequestError(f"the query argument {key!r} is repeated")
            if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key + value):
                raise BadRequestError("a control character in the query")
            query[key] = value
    return Target(version, "/" + "/".join(decoded), query)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    folded: set[str] = set()
    for key, value in pairs:
        if not key.isascii():
            raise BadRequestError(f"ambiguous key {key!r}: not ASCII (the engine folds some letters)")
        if key.lower() in folded:
            raise BadRequestError(
                f"ambiguous key {key!r}: a key of the same object differs only in case or repeats"
            )
        folded.add(key.lower())
        document[key] = value
    return document


def _no_constant(name: str) -> Any:
    raise BadRequestError(f"{name} is not JSON the engine reads")


def read_body(raw: bytes) -> Any:
    """The body as one JSON document, or BadRequestError for anything two readers could disagree on."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("the request body is not UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except BadRequestError:
        raise
    except RecursionError:
        raise BadRequestError("the request body nests too deep") from None
    except ValueError as exc:
        raise BadRequestError(f"the request body is not JSON ({exc})") from None


def canonical_body(document: Any) -> bytes:
    """The checked document as the proxy sends it: every key once, ASCII only."""
    return json.dumps(document, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()
