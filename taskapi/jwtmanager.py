"""flask-jwt-extended's JWTManager, decoding each token once where the extension decodes it twice."""

import jwt
from flask_jwt_extended import JWTManager as _JWTManager
from flask_jwt_extended.config import config
from jwt.exceptions import ExpiredSignatureError


class JWTManager(_JWTManager):
    """The extension first decodes a token's claims unverified, only to pass them to its decode-key
    callback, then decodes it again verified: two parses (PyJWT checks every character of each
    segment) for one token. taskapi's key is fixed, so one verified decode serves; its claims, as
    sent, then go to the checker registered with `claims_checker` (which raises to refuse them).
    """

    def __init__(self, app=None, add_context_processor=False):
        self._claims_checker = None
        super().__init__(app, add_context_processor)

    def claims_checker(self, callback):
        """Register `callback(claims)`, run on every verified token's claims before anything reads them."""
        self._claims_checker = callback
        return callback

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        if csrf_value:  # tokens in cookies, which taskapi does not use: the extension's own way
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        audience = config.decode_audience
        options = {"verify_aud": audience is not None, "verify_sub": config.verify_sub}
        if allow_expired:
            options["verify_exp"] = False
        try:
            claims = jwt.decode(encoded_token, config.decode_key, algorithms=config.decode_algorithms,
                                audience=audience, issuer=config.decode_issuer, leeway=config.leeway, options=options)
        except ExpiredSignatureError as expired:
            # The extension's expired-token callback is given the token's header and claims.
            expired.jwt_header = jwt.get_unverified_header(encoded_token)
            expired.jwt_data = self._decode_jwt_from_config(encoded_token, allow_expired=True)
            raise
        if self._claims_checker is not None:
            self._claims_checker(claims)
        claims.setdefault("fresh", False)
        return claims
