"""``sts:AssumeRoleWithWebIdentity`` decided as AWS decides it for IRSA (IAM-6).

moto 5.2.5 hands out credentials for any role to any token: it reads neither the token nor the
role's trust policy. AWS (STS API reference, AssumeRoleWithWebIdentity; IAM User Guide, "Creating
a role for web identity or OIDC federation", "Available keys for OIDC federation"):

* The call is unsigned: the token is the credential.
* The token's ``iss`` must be an IAM OIDC provider of the role's account, by URL without
  ``https://``; otherwise InvalidIdentityToken ("No OpenIDConnect provider found in your account
  for <issuer>").
* Its ``aud`` must be one of that provider's client ids (InvalidIdentityToken "Incorrect token
  audience"), and it must not have expired (ExpiredTokenException).
* The role's trust policy must allow ``sts:AssumeRoleWithWebIdentity`` to a ``Federated``
  principal naming that provider, with the token's claims as condition keys
  ``<issuer>:aud`` and ``<issuer>:sub`` (``<issuer>:amr`` too); otherwise AccessDenied
  "Not authorized to perform sts:AssumeRoleWithWebIdentity". A role that does not exist is
  refused the same way.

Kinder than AWS: the token's signature is not checked. AWS fetches the issuer's JSON Web Key Set
(``<issuer>/.well-known/openid-configuration``) and refuses a token it did not sign; the
emulator's clusters (moto EKS) publish no keys, so a token is taken as its claims say.
"""

from __future__ import annotations

import base64
import json
import sys
import time

from moto.iam.models import iam_backends
from moto.sts.responses import TokenResponse

from . import enforcement, policy

ACTION = "sts:AssumeRoleWithWebIdentity"
_original = TokenResponse.assume_role_with_web_identity


def _refuse(status: int, code: str, message: str):
    # Logged as every refusal is (.state/emulator.log).
    print(f"emulator: refused ({code}) {ACTION}: {message}", file=sys.stderr, flush=True)
    raise enforcement._XmlError(status, code, message)


def claims_of(token: str) -> dict:
    """The payload of a compact JWS (header.payload.signature), unverified."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        _refuse(400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT. (You may see this error if "
                "you sent an Access Token)")
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, json.JSONDecodeError):
        _refuse(400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT.")
    if not isinstance(claims, dict):
        _refuse(400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT.")
    return claims


def decide(role_arn: str, claims: dict, now: float) -> tuple[int, str, str] | None:
    """None if AWS would issue credentials for ``role_arn`` to a token with these claims; else
    (HTTP status, error code, message)."""
    issuer = str(claims.get("iss", ""))
    host = issuer.removeprefix("https://").rstrip("/")
    match = enforcement._ROLE_ARN.match(role_arn or "")
    account_id = match.group(1) if match else None
    backend = iam_backends[account_id][enforcement.PARTITION] if account_id in iam_backends else None
    provider_arn = f"arn:{enforcement.PARTITION}:iam::{account_id}:oidc-provider/{host}"
    provider = backend.open_id_providers.get(provider_arn) if backend is not None else None
    if provider is None:
        return 400, "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}"
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if not any(a in provider.client_id_list for a in audiences):
        return 400, "InvalidIdentityToken", "Incorrect token audience"
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or expires <= now:
        return 400, "ExpiredTokenException", "Token expired: current date/time is after the token's exp"
    role = enforcement._target_role(role_arn)
    context = {f"{host}:aud".lower(): [str(a) for a in audiences], f"{host}:sub".lower(): str(claims.get("sub", ""))}
    if "amr" in claims:
        context[f"{host}:amr".lower()] = claims["amr"]
    caller = policy.Caller(arn=provider_arn, account_id="", identity_arn=provider_arn, kind="web-identity")
    request = policy.Request(action=ACTION, resource=role_arn, caller=caller, context=context)
    trust = policy.evaluate([role.assume_role_policy_document], request, resource_based=True) if role else policy.Result()
    if trust.explicit_deny or not trust.allowed:
        return 403, "AccessDenied", f"Not authorized to perform {ACTION}"
    return None


def assume_role_with_web_identity(self):
    refusal = decide(self._get_param("RoleArn"), claims_of(self._get_param("WebIdentityToken")), time.time())
    if refusal is not None:
        _refuse(*refusal)
    return _original(self)


def install() -> None:
    TokenResponse.assume_role_with_web_identity = assume_role_with_web_identity
