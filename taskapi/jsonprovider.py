"""Flask's JSON provider on orjson: the same compact, key-sorted JSON, several times faster to write."""

import orjson
from flask import Flask
from flask.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_SORT_KEYS


class OrjsonProvider(DefaultJSONProvider):
    """Writes with orjson: sorted keys, compact, UTF-8 as is (rather than \\u escapes); reads as Flask does.

    What orjson cannot write goes through Flask's own `default` (dataclasses, __html__, ...); what it
    refuses outright (an integer beyond 64 bits) through the standard library.
    """

    _app: Flask  # JSONProvider's documented attribute: the app, a Flask one here (and so its response class)

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
        obj = _response_value(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=OPTIONS | orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)


def _response_value(args, kwargs):
    """What jsonify() writes, as Flask documents it: one value, several as a list, or the keywords as an object."""
    if args and kwargs:
        raise TypeError("app.json.response() takes either args or kwargs, not both")
    if len(args) == 1:
        return args[0]
    return args or kwargs or None


def init_app(app):
    app.json = OrjsonProvider(app)
