"""Flask's JSON provider on orjson: the same compact, key-sorted JSON, several times faster to write."""

import orjson
from flask.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_SORT_KEYS


class OrjsonProvider(DefaultJSONProvider):
    """Writes with orjson: sorted keys, compact, UTF-8 as is (rather than \\u escapes); reads as Flask does.

    What orjson cannot write goes through Flask's own `default` (dataclasses, __html__, ...); what it
    refuses outright (an integer beyond 64 bits) through the standard library.
    """

    def dumps(self, obj, **kwargs):
        if not kwargs.keys() - {"separators"}:  # indent, sort_keys=False ...: the standard library's way
            try:
                return orjson.dumps(obj, default=self.default, option=OPTIONS).decode()
            except TypeError:
                pass
        return super().dumps(obj, **kwargs)

    def response(self, *args, **kwargs):
        """jsonify(): the bytes go straight into the response, with Flask's trailing newline."""
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=OPTIONS | orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)


def init_app(app):
    app.json = OrjsonProvider(app)
