"""Every request is authenticated and authorized, from the first one, as AWS does.

moto 5.2.5 checks signatures and identity policies only once ``INITIAL_NO_AUTH_ACTION_COUNT``
requests have passed (by default: never), and ``/moto-api/reset-auth`` turns the check off at
will. Here the check replaces moto's (``ActionAuthenticatorMixin._authenticate_and_authorize_action``)
and cannot be turned off. What it reproduces:

Authentication (AWS General Reference, "Signing AWS API requests"; the error codes are those
each protocol's services answer):

* An unsigned request is refused (MissingAuthenticationToken), except the few operations AWS
  serves anonymously that moto already lists (Cognito's public calls). S3 answers an anonymous
  request AccessDenied.
* An access key the emulator did not issue, an inactive user key, a user key sent with a session
  token, or a session key whose token does not match, is refused (InvalidClientTokenId; EC2
  AuthFailure; JSON services UnrecognizedClientException). An expired session is refused
  (ExpiredToken).
* The SigV4 signature is recomputed with the key's secret (SignatureDoesNotMatch on a mismatch),
  and a request dated more than 15 minutes from the emulator's clock is refused as AWS does.
  The payload hash the client signed (``X-Amz-Content-SHA256``: a digest, ``UNSIGNED-PAYLOAD``
  or a ``STREAMING-...`` marker) is taken as signed, as S3 accepts all three.
* A request whose key belongs to another account than the one moto would route it to (moto's
  ``x-moto-account-id`` header) is refused: the key alone names the account, as in AWS.

Authorization (IAM User Guide, "Policy evaluation logic"), see ``policy.py`` for the documents:

* An explicit Deny in any identity-based policy, permissions boundary or session policy wins.
  Session policies are AssumeRole's ``Policy`` and ``PolicyArns`` (moto keeps only the first;
  the managed policies named are recorded here, resolved in the role's account).
* Otherwise an identity-based policy must allow the action on the resource, and so must the
  caller's permissions boundary if it has one, and the session policy passed to AssumeRole if
  the session has one.
* ``sts:AssumeRole`` is also decided by the TARGET role's trust policy, in the target role's
  account: a role that does not exist, or whose trust policy does not admit the caller, is
  refused with the same message. Cross-account, both the caller's identity policy and the trust
  policy must allow. In the role's own account a trust policy naming the caller itself suffices
  (only the boundary and session policy still limit a role session); one naming the account
  delegates to the caller's identity policies.
* ``sts:GetCallerIdentity`` needs no permission.
* Denials carry AWS's message: ``User: <caller arn> is not authorized to perform: <action> on
  resource: <arn> because no identity-based policy allows the <action> action`` (or "with an
  explicit deny in ..."); a trust-policy refusal gives no reason, as AWS gives none.

Not reproduced (documented so nobody relies on it): service control policies, resource-based
policies other than role trust policies (bucket, key and queue policies), ``iam:PassRole``
checks, ``sts:TagSession``/``sts:SetSourceIdentity``, presigned URLs
(refused, where AWS would accept a valid one), and anonymous STS SAML calls (refused as
unsigned). AssumeRoleWithWebIdentity is served unsigned, as AWS serves it, and decided by
``web_identity``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto import settings
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.core.responses import ActionAuthenticatorMixin, BaseResponse
from moto.iam.models import iam_backends
from moto.s3 import exceptions as s3_errors
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

from .. import iam as iam_extension
from . import policy
from .policy import Caller, Match, Request, Result

PARTITION = "aws"
MAX_CLOCK_SKEW = timedelta(minutes=15)
# The IAM service prefix of a signing name, where the two differ.
ACTION_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}
# aws:SourceIp: the emulator listens on loopback only (a client-supplied X-Forwarded-For is not trusted).
LOOPBACK = "127.0.0.1"


# --- errors, in each protocol's own shape -----------------------------------------------------


class _XmlError(_RESTError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(code, message)
        self.code = status


class _JsonError(JsonRESTError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(code, message)
        self.code = status


# kind -> protocol family -> (HTTP status, code, message)
_ERRORS = {
    "missing": {
        "query": (403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
        "ec2": (401, "MissingAuthenticationToken", "Request is missing Authentication Token"),
        "json": (403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
    },
    "invalid": {
        "query": (403, "InvalidClientTokenId", "The security token included in the request is invalid."),
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "json": (400, "UnrecognizedClientException", "The security token included in the request is invalid."),
    },
    "expired": {
        "query": (403, "ExpiredToken", "The security token included in the request is expired"),
        "ec2": (400, "RequestExpired", "Request has expired."),
        "json": (400, "ExpiredTokenException", "The security token included in the request is expired"),
    },
    "signature": {
        "query": (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                  "you provided. Check your AWS Secret Access Key and signing method. Consult the service "
                  "documentation for details."),
        "ec2": (401, "AuthFailure", "AWS was not able to validate the provided access credentials"),
        "json": (400, "InvalidSignatureException", "The request signature we calculated does not match the "
                 "signature you provided. Check your AWS Secret Access Key and signing method. Consult the "
                 "service documentation for details."),
    },
    "denied": {
        "query": (403, "AccessDenied", ""),
        "ec2": (403, "UnauthorizedOperation", "You are not authorized to perform this operation. "),
        "json": (400, "AccessDeniedException", ""),
        "rest-json": (403, "AccessDeniedException", ""),
    },
}


def _protocol(response) -> str:
    try:
        from moto.core.responses import get_service_model

        return get_service_model(response.boto3_service_name).protocol
    except Exception:  # moto's own endpoints and services botocore does not model
        content_type = response.headers.get("Content-Type", "")
        return "json" if "json" in content_type else "query"


def _fail(response, s3: bool, kind: str, detail: str = "", *, message: str | None = None):
    # Every refusal goes to the emulator's log (.state/emulator.log), so a denial that a client
    # retried past or reported vaguely can still be traced to the policy that caused it.
    print(f"emulator: refused ({kind}) {response.method} {getattr(response, 'service_name', '?')} "
          f"{response._get_action() if not s3 else ''}: {message or detail or kind}", file=sys.stderr, flush=True)
    if s3:
        bucket = response.data.get("BucketName") if isinstance(response.data, dict) else None
        if kind == "missing" or kind == "denied":
            raise s3_errors.BucketAccessDeniedError(bucket=bucket) if bucket else s3_errors.S3AccessDeniedError()
        if kind == "signature":
            raise (s3_errors.BucketSignatureDoesNotMatchError(bucket=bucket) if bucket
                   else s3_errors.S3SignatureDoesNotMatchError())
        if kind == "expired":
            raise _XmlError(400, "ExpiredToken", "The provided token has expired.")
        raise (s3_errors.BucketInvalidAccessKeyIdError(bucket=bucket) if bucket
               else s3_errors.S3InvalidAccessKeyIdError())
    protocol = _protocol(response)
    family = protocol if protocol in ("ec2", "json", "rest-json") else "query"
    table = _ERRORS[kind]
    status, code, text = table.get(family) or table["json" if family == "rest-json" else "query"]
    text = message if message is not None else text + detail
    error_cls = _JsonError if family in ("json", "rest-json") else _XmlError
    raise error_cls(status, code, text)


# --- who is calling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """An authenticated caller and everything that limits what it may do."""

    caller: Caller
    secret: str
    token: str | None
    policies: list = field(default_factory=list)  # identity-based documents
    boundary: Any = None  # the permissions boundary document, if any
    session_policies: list = field(default_factory=list)
    tags: dict = field(default_factory=dict)
    user_id: str = ""


class CredentialsRefused(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def _document(managed) -> Any:
    return next(v.document for v in managed.versions if v.is_default)


def _managed(backend, arn: str) -> Any:
    managed = backend.managed_policies.get(arn)
    # A boundary that names no policy the account can see allows nothing.
    return _document(managed) if managed is not None else {"Statement": []}


def identify(access_key_id: str, token: str | None, now: datetime) -> Identity:
    """The caller an access key belongs to; CredentialsRefused names why AWS would refuse it."""
    account_id = iam_extension.key_owner(access_key_id, (PARTITION,))
    if account_id is None:
        raise CredentialsRefused("invalid")
    backend = iam_backends[account_id][PARTITION]
    key = backend.access_keys[access_key_id]
    if key.user_name is not None:
        user = backend.users.get(key.user_name)
        if user is None or key.status != "Active" or token is not None:
            raise CredentialsRefused("invalid")
        policies = list(user.policies.values()) + [_document(p) for p in user.managed_policies.values()]
        for group in backend.get_groups_for_user(user.name):
            policies += list(group.policies.values()) + [_document(p) for p in group.managed_policies.values()]
        boundary_arn = getattr(user, "permissions_boundary_arn", None)
        caller = Caller(arn=user.arn, account_id=account_id, identity_arn=user.arn, kind="user")
        tags = {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(user.arn).get("Tags", [])}
        return Identity(caller, key.secret_access_key, None, policies,
                        _managed(backend, boundary_arn) if boundary_arn else None, [], tags, user.id)
    session = next((s for s in sts_backends[account_id][PARTITION].assumed_roles if s.access_key_id == access_key_id), None)
    if session is None or token != session.session_token:
        raise CredentialsRefused("invalid")
    if session.expiration.replace(tzinfo=timezone.utc) <= now:
        raise CredentialsRefused("expired")
    role = next((r for r in backend.roles.values() if r.arn == session.role_arn), None)
    role_name = session.role_arn.split("/")[-1]
    caller = Caller(arn=f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session.session_name}",
                    account_id=account_id, identity_arn=role.arn if role else session.role_arn, kind="role-session")
    if role is None:  # the role was deleted: its sessions keep no permissions
        return Identity(caller, session.secret_access_key, session.session_token)
    policies = list(role.policies.values()) + [_document(p) for p in role.managed_policies.values()]
    boundary = _managed(backend, role.permissions_boundary_arn) if role.permissions_boundary_arn else None
    tags = {t["Key"]: t["Value"] for t in backend.tagger.list_tags_for_resource(role.arn).get("Tags", [])}
    session_policies = [session.policy] if session.policy else []
    session_policies += [_managed(backend, arn) for arn in getattr(session, "policy_arns", [])]
    return Identity(caller, session.secret_access_key, session.session_token, policies, boundary,
                    session_policies, tags, f"{role.id}:{session.session_name}")


# --- decisions --------------------------------------------------------------------------------

_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(.+)$")
_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[^:]*:[^:]*:(\d{12}):")


def _target_role(role_arn: str):
    match = _ROLE_ARN.match(role_arn or "")
    if not match or match.group(1) not in iam_backends:
        return None
    backend = iam_backends[match.group(1)][PARTITION]
    return next((r for r in backend.roles.values() if r.arn == role_arn), None)


def context_for(identity: Identity, region: str, source_ip: str, now: datetime, extra: dict) -> dict:
    caller = identity.caller
    context = {
        "aws:principalarn": caller.identity_arn,
        "aws:principalaccount": caller.account_id,
        "aws:principaltype": "User" if caller.kind == "user" else "AssumedRole",
        "aws:userid": identity.user_id,
        "aws:requestedregion": region,
        "aws:sourceip": source_ip,
        "aws:securetransport": "false",  # the emulator is served over plain HTTP
        "aws:viaawsservice": "false",
        "aws:currenttime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now.timestamp())),
    }
    if caller.kind == "user":
        context["aws:username"] = caller.identity_arn.rsplit("/", 1)[-1]
    for key, value in identity.tags.items():
        context[f"aws:principaltag/{key.lower()}"] = value
    context.update({k.lower(): v for k, v in extra.items() if v is not None})
    return context


def denial(identity: Identity, action: str, resource: str, context: dict, trust_policy: Any = None,
           role_account: str | None = None, assuming: bool = False) -> str | None:
    """None if AWS would allow ``action`` on ``resource``; else the AccessDenied message."""
    caller = identity.caller
    request = Request(action=action, resource=resource, caller=caller,
                      context={**context, "aws:resourceaccount": _resource_account(resource, role_account)})
    on = f" on resource: {resource}" if resource != "*" else ""
    base = f"User: {caller.arn} is not authorized to perform: {action}{on}"
    identity_result = policy.evaluate(identity.policies, request)
    boundary_result = policy.evaluate([identity.boundary], request) if identity.boundary is not None else None
    session_result = policy.evaluate(identity.session_policies, request) if identity.session_policies else None
    for result, where in ((identity_result, "an identity-based policy"), (boundary_result, "a permissions boundary"),
                          (session_result, "a session policy")):
        if result is not None and result.explicit_deny:
            return f"{base} with an explicit deny in {where}"
    identity_needed = True
    if assuming:
        trust = policy.evaluate([trust_policy], request, resource_based=True) if trust_policy is not None else Result()
        if trust.explicit_deny or not trust.allowed:
            return base  # AWS does not say which part of a trust policy refused
        if role_account == caller.account_id and trust.principal_match is Match.PRINCIPAL:
            # In its own account, a trust policy that names the caller grants by itself; a user
            # is then not limited by its boundary either, a role session still is.
            identity_needed = False
            if caller.kind == "user":
                return None
    if identity_needed and not identity_result.allowed:
        return f"{base} because no identity-based policy allows the {action} action"
    if boundary_result is not None and not boundary_result.allowed:
        return f"{base} because no permissions boundary allows the {action} action"
    if session_result is not None and not session_result.allowed:
        return f"{base} because no session policy allows the {action} action"
    return None


def _resource_account(resource: str, role_account: str | None) -> str | None:
    if role_account:
        return role_account
    match = _ARN_ACCOUNT.match(resource)
    return match.group(1) if match else None


# --- the request hook -------------------------------------------------------------------------


def _between(first: str, second: str, text: str) -> str:
    return text.partition(first)[2].partition(second)[0]


def _signature_matches(response, identity: Identity, authorization: str, region: str, service: str, s3: bool) -> bool:
    signed = _between("SignedHeaders=", ",", authorization).split(";")
    headers = {k: v for k, v in response.headers.items() if k.lower() in signed}
    request = AWSRequest(method=response.method, url=_path_as_sent(response), data=_body_as_sent(response), headers=headers)
    amz_date = next((v for k, v in headers.items() if k.lower() == "x-amz-date"), None)
    request.context["timestamp"] = amz_date
    auth = (S3SigV4Auth if s3 else SigV4Auth)(Credentials(_between("Credential=", "/", authorization),
                                                          identity.secret, identity.token), service, region)
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    return expected == _between("Signature=", ",", authorization).strip()


def _path_as_sent(response) -> str:
    """Path and query exactly as the client sent and signed them (SigV4 signs the encoded form).
    waitress keeps them in REQUEST_URI; moto's raw_path looks only for gunicorn's RAW_URI and
    otherwise falls back to the decoded path."""
    environ = response.normalized_request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        parsed = urlsplit(raw)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "") if parsed.scheme else raw
    query = response.parsed_url.query
    return response.raw_path + (f"?{query}" if query else "")


def _body_as_sent(response) -> bytes:
    body = getattr(response, "_signed_body", None)
    if body is None:
        body = response.raw_body or b""
    return body.encode() if isinstance(body, str) else body


def _keep_signed_body(original):
    """werkzeug hands a form-encoded body (every Query-protocol call: STS, IAM, EC2...) to its
    form parser and leaves ``request.data`` empty, so moto's own check signed an empty payload.
    Reading it into werkzeug's cache first keeps the bytes the client signed, and the form parser
    still reads them from that cache."""

    def decompress_request_body(self, request) -> None:
        if request.content_encoding != "gzip":
            self._signed_body = request.get_data(cache=True)
        original(self, request)

    return decompress_request_body


def _request_time(headers) -> datetime | None:
    value = headers.get("X-Amz-Date")
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) if value else None
    except ValueError:
        return None


def authenticate_and_authorize(self, iam_request_cls: type, resource: str = "*") -> None:
    """Replaces moto's ``ActionAuthenticatorMixin._authenticate_and_authorize_action``."""
    if self.headers.get("X-Amz-Target") in ActionAuthenticatorMixin.PUBLIC_OPERATIONS:
        return
    if isinstance(self, TokenResponse) and self._get_action() == "AssumeRoleWithWebIdentity":
        return  # unsigned in AWS too: the token is the credential, judged by web_identity.py
    s3 = iam_request_cls.__name__ == "S3IAMRequest"
    authorization = self.headers.get("Authorization")
    if not authorization:
        _fail(self, s3, "missing")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        _fail(self, s3, "signature")  # SigV2 and other schemes: AWS's services here take SigV4
    scope = _between("Credential=", ",", authorization).split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        _fail(self, s3, "signature")
    access_key_id, _, region, service, _ = scope
    now = datetime.now(timezone.utc)
    try:
        identity = identify(access_key_id, self.headers.get("X-Amz-Security-Token"), now)
    except CredentialsRefused as refused:
        _fail(self, s3, refused.kind)
    if identity.caller.account_id != self.current_account:
        _fail(self, s3, "invalid")
    if not _signature_matches(self, identity, authorization, region, service, s3):
        _fail(self, s3, "signature")
    signed_at = _request_time(self.headers)
    if signed_at is None or abs(now - signed_at) > MAX_CLOCK_SKEW:
        _fail(self, s3, "signature", message=(
            f"Signature expired: {self.headers.get('X-Amz-Date')} is now earlier than "
            f"{(now - MAX_CLOCK_SKEW).strftime('%Y%m%dT%H%M%SZ')}"))
    operation = self._get_action()
    operation = operation[0] if isinstance(operation, list) else operation
    action = f"{ACTION_PREFIX.get(service, service)}:{operation}"
    if action in NO_PERMISSION_NEEDED:
        return
    resources = getattr(self, "_access_resources", None)
    resources = resources() if callable(resources) else [resource]
    assuming = action == "sts:AssumeRole"
    extra = {}
    if assuming:
        extra = {"sts:ExternalId": self._get_param("ExternalId"), "sts:RoleSessionName": self._get_param("RoleSessionName")}
    context = context_for(identity, region, LOOPBACK, now, extra)
    for arn in resources:
        if assuming:
            role = _target_role(arn)
            message = denial(identity, action, arn, context, trust_policy=role.assume_role_policy_document if role else None,
                             role_account=_ROLE_ARN.match(arn).group(1) if role else None, assuming=True)
        else:
            message = denial(identity, action, arn, context)
        if message is not None:
            _fail(self, s3, "denied", message)


def _record_policy_arns(original):
    def assume_role(self):
        result = original(self)
        arns = [p.get("arn") for p in self._get_param("PolicyArns") or [] if p.get("arn")]
        if arns:
            result.result["Credentials"].policy_arns = arns  # the AssumedRole moto just made
        return result

    return assume_role


def _refuse_reset_auth(request, full_url, headers):
    """moto's switch for turning authentication off: AWS has none, so neither has the emulator."""
    return 403, {"Content-Type": "application/json"}, json.dumps(
        {"Error": "the emulator enforces IAM from its first request; authentication cannot be turned off"})


def install() -> None:
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # anything else in moto that reads it sees enforcement
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize
    BaseResponse.decompress_request_body = _keep_signed_body(BaseResponse.decompress_request_body)
    TokenResponse.assume_role = _record_policy_arns(TokenResponse.assume_role)
    from moto.moto_api._internal import urls

    for pattern in list(urls.url_paths):
        if pattern.endswith("/moto-api/reset-auth"):
            urls.url_paths[pattern] = _refuse_reset_auth
