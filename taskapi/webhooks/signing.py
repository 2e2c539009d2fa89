"""Webhook secrets (derived from a stored nonce under SECRET_KEY) and Standard Webhooks signatures.

A secret is `whsec_` + the base64 of 32 bytes: an HMAC-SHA256 of the webhook's nonce under
SECRET_KEY. The database alone never holds a secret (a copy of it signs nothing), and nothing
needs decrypting: the same key derives it again at each delivery. The price: changing
SECRET_KEY changes every webhook's secret, so each must be rotated (and its receiver told).
"""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from standardwebhooks import Webhook as Signer

from taskapi.models import utcnow

PREFIX = "whsec_"
# How long a rotated-away secret still signs: receivers have a day to take the new one.
OLD_SECRET_LIVES = timedelta(hours=24)


def new_nonce():
    return secrets.token_urlsafe(32)


def secret(nonce):
    """The webhook secret a nonce stands for, under this app's SECRET_KEY."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"taskapi-webhook-secret\0" + nonce.encode(), hashlib.sha256).digest()
    return PREFIX + base64.b64encode(digest).decode()


def signing_secrets(webhook, now=None):
    """The secrets that sign the webhook's deliveries now: its own, and the previous one for a day after a rotation."""
    now = now or utcnow()
    nonces = [webhook.secret_nonce]
    if webhook.previous_secret_nonce and webhook.rotated_at and now - webhook.rotated_at < OLD_SECRET_LIVES:
        nonces.append(webhook.previous_secret_nonce)
    return [secret(nonce) for nonce in nonces]


def signers(webhook, now=None):
    """A signer for each of signing_secrets(): made once for a batch's events to one webhook."""
    return [Signer(each) for each in signing_secrets(webhook, now)]


def headers(message_id, timestamp: datetime, body, by):
    """The Standard Webhooks headers of one attempt, signed `by` signers(): `webhook-signature` holds one `v1,…`
    per secret, space-separated (a receiver accepts the message when any of them verifies)."""
    signatures = " ".join(signer.sign(str(message_id), timestamp, body) for signer in by)
    return {
        "webhook-id": str(message_id),
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }
