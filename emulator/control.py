"""Entering a user's Studio, as AWS lets one: ``CreatePresignedDomainUrl``, then the URL.

* ``CreatePresignedDomainUrl`` (an IAM-authorized SageMaker call, like every other) answers an
  ``AuthorizedUrl`` that, as AWS's, is valid for ``ExpiresInSeconds`` (5 to 300, default 300)
  and can be used once; an unknown domain or profile is ResourceNotFound.
* Opening that URL (``GET /_emulator/sagemaker/auth?token=...`` here, where a browser would get
  Studio) answers what the user's app holds: a session of the profile's execution role (or the
  domain's default), which SageMaker assumes as the service principal ``sagemaker.amazonaws.com``
  when it starts the app. The assumption succeeds only if the role's trust policy admits that
  service and no statement denies it (403 otherwise, as the app would fail to start); a used or
  expired URL answers 403, as AWS's sign-in page refuses it.

So no credentials of a role are had without an authorized call, as on AWS.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from typing import Any, Callable, Iterable

from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
from moto.sagemaker.responses import SageMakerResponse

PREFIX = "/_emulator/"
AUTH_PATH = f"{PREFIX}sagemaker/auth"
SAGEMAKER = "sagemaker.amazonaws.com"
_tokens: dict[str, tuple[str, str, float]] = {}  # token -> (domain id, user profile, expiry)
_tokens_lock = threading.Lock()


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def wrap(app: Callable) -> Callable:
    """A WSGI app that answers the control paths and hands everything else to ``app``."""

    def dispatch(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return app(environ, start_response)
        try:
            if path == AUTH_PATH and environ.get("REQUEST_METHOD") == "GET":
                token = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("token", [""])[0]
                status, answer = 200, app_credentials(*_redeem(token))
            else:
                raise ControlError(404, f"no such emulator path: {path}")
        except ControlError as exc:
            status, answer = exc.status, {"message": str(exc)}
        except (KeyError, ValueError) as exc:
            status, answer = 400, {"message": f"bad request: {exc}"}
        data = json.dumps(answer, default=str).encode()
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    return dispatch


def create_presigned_domain_url(self) -> ActionResult:
    domain_id, user = self._get_param("DomainId"), self._get_param("UserProfileName")
    expires = self._get_param("ExpiresInSeconds") or 300
    if not 5 <= int(expires) <= 300:
        raise ValidationError(message=f"ExpiresInSeconds {expires} is outside 5 to 300.")
    domain = self.sagemaker_backend.domains.get(domain_id)
    if domain is None:
        raise ResourceNotFound(message=f"Domain '{domain_id}' not found.")
    if f"{domain_id}/{user}" not in self.sagemaker_backend.__dict__.get("_ext_user_profiles", {}):
        raise ResourceNotFound(message=f"User profile {user} in domain {domain_id} does not exist.")
    token = uuid.uuid4().hex
    with _tokens_lock:
        _tokens[token] = (domain_id, user, time.monotonic() + int(expires))
    host = self.headers.get("Host", "127.0.0.1")
    return ActionResult({"AuthorizedUrl": f"http://{host}{AUTH_PATH}?token={token}"})


def _redeem(token: str) -> tuple[str, str]:
    with _tokens_lock:
        grant = _tokens.pop(token, None)
    if grant is None or grant[2] < time.monotonic():
        raise ControlError(403, "Invalid or expired authorized URL: create a new one with CreatePresignedDomainUrl")
    return grant[0], grant[1]


def install() -> None:
    SageMakerResponse.create_presigned_domain_url = create_presigned_domain_url


def app_credentials(domain_id: str, user_profile_name: str) -> dict:
    from moto.iam.models import iam_backends
    from moto.sagemaker.models import sagemaker_backends
    from moto.sts.models import sts_backends

    for account_id, regions in list(sagemaker_backends.items()):
        for region, backend in list(regions.items()):
            domain = backend.domains.get(domain_id)
            if domain is None:
                continue
            profile = backend.__dict__.get("_ext_user_profiles", {}).get(f"{domain_id}/{user_profile_name}")
            if profile is None:
                raise ControlError(404, f"User profile {user_profile_name} in domain {domain_id} does not exist.")
            role_arn = (profile.get("UserSettings") or {}).get("ExecutionRole") \
                or (domain.default_user_settings or {}).get("ExecutionRole")
            if not role_arn:
                raise ControlError(403, f"neither user profile {user_profile_name} nor domain {domain_id} names an execution role")
            role_account = role_arn.split(":")[4]
            try:
                role = iam_backends[role_account]["aws"].get_role_by_arn(role_arn)
            except Exception:  # moto raises its own NotFound types; any failure means no such role
                raise ControlError(403, f"the execution role {role_arn} does not exist") from None
            trust = role.assume_role_policy_document
            if not service_may_assume(json.loads(trust) if isinstance(trust, str) else trust, SAGEMAKER):
                raise ControlError(403, f"{SAGEMAKER} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
            session = sts_backends[role_account]["aws"].assume_role(
                region_name=region, role_session_name=f"SageMaker-{user_profile_name}"[:64], role_arn=role_arn,
                policy=None, duration=3600, external_id=None,
            )
            return {"Credentials": {"AccessKeyId": session.access_key_id, "SecretAccessKey": session.secret_access_key,
                                    "SessionToken": session.session_token, "Expiration": session.expiration.isoformat()},
                    "AssumedRoleArn": session.arn}
    raise ControlError(404, f"Domain '{domain_id}' not found.")


def service_may_assume(trust: dict, service: str) -> bool:
    """A trust policy admits a service principal when an Allow statement names it for
    sts:AssumeRole and no Deny statement does (conditions are not evaluated: the project's
    trusts for services have none)."""
    allowed = False
    for statement in _as_list(trust.get("Statement")):
        principal = statement.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        names = principal == "*" or service in services
        actions = _as_list(statement.get("Action"))
        if not names or not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Condition"):
            continue  # an unevaluated condition never grants
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
