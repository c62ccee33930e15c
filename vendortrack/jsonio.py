"""The app's JSON, written and read by orjson: Flask's own encoder took a fifth of a scorecard's time.

Output keeps what Flask's default provider promises its callers: keys sorted, and dates, decimals,
UUIDs, dataclasses and lazy (translated) strings as Flask writes them. It differs only where that
was never JSON: a NaN or an infinity becomes null, and text is UTF-8 rather than \\u escapes.

Request bodies are read here too (the API's parser calls `loads`). orjson refuses, as JSONDecodeError,
what the standard library lets through to fail later: a lone surrogate ("\\ud800", which no database
can store), NaN and Infinity, and nesting past 1,024 levels (the standard library's recursion
overflows at about a thousand). An integer past 64 bits is read as a float: every number the API
reads has a range far below that.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

# Flask's _default writes dates as HTTP dates and dataclasses by asdict; orjson is told to leave
# those to it rather than write its own ISO dates.
_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
)


class OrjsonProvider(DefaultJSONProvider):
    def _encode(self, obj: Any, pretty: bool = False) -> bytes:
        options = _OPTIONS | orjson.OPT_INDENT_2 if pretty else _OPTIONS
        try:
            return orjson.dumps(obj, default=self.default, option=options)
        except orjson.JSONEncodeError:
            # What orjson refuses (an integer past 64 bits, say) the standard library may still write.
            return super().dumps(obj, **({"indent": 2} if pretty else {})).encode()

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if set(kwargs) - {"separators"}:  # a caller with wishes of its own (indent, ensure_ascii...)
            return super().dumps(obj, **kwargs)
        return self._encode(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:  # a caller with wishes of its own (object_hook, parse_float...)
            return super().loads(s, **kwargs)
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        pretty = self.compact is False or (self.compact is None and self._app.debug)
        return self._app.response_class(self._encode(obj, pretty), mimetype=self.mimetype)
