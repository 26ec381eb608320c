"""IAM policy documents evaluated as AWS evaluates them (IAM User Guide, "Policy evaluation
logic", "IAM JSON policy elements reference"). Pure functions: no moto, no I/O.

What moto 5.2.5's evaluator (moto/iam/access_control.py) gets wrong and this reproduces:

* Actions match case-insensitively (``elasticmapreduce:listinstances`` is ListInstances); ``*``
  and ``?`` are the only wildcards, every other character is literal (moto builds a regex from
  the pattern, so a ``.`` in an ARN matches any character).
* ``NotAction``, ``NotResource`` and ``NotPrincipal`` apply to everything they do not name.
* An Allow statement whose principal or condition does not match simply does not apply; moto
  turns it into an explicit deny.
* Principals in resource-based policies (role trust policies): an account (``"111111111111"``
  or ``arn:aws:iam::111111111111:root``) admits every principal of that account, whose own
  identity policies then decide; a role ARN admits that role's sessions
  (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``); a user ARN that user; a session ARN
  that session; ``"*"`` anyone. A ``Service`` or ``Federated`` principal never admits an IAM
  caller. moto compares strings literally.
* Conditions: the String*, Arn*, Bool, Null, Numeric*, Date* and IpAddress operators, with the
  ``...IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:`` set qualifiers. A key absent
  from the request makes a condition false, except for negated operators (``StringNotEquals``,
  ``ArnNotLike`` ...), which are then true, ``...IfExists`` (true) and ``Null``. Keys are
  case-insensitive, values case-sensitive unless the operator says otherwise. An operator this
  module does not know raises UnsupportedPolicy: the request fails loudly rather than being
  allowed or denied on a guess.
* Policy variables (``${aws:username}``, ``${aws:PrincipalAccount}`` ...) in Resource and in
  condition values are replaced from the request context.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Iterable, Mapping
from urllib.parse import unquote


class UnsupportedPolicy(Exception):
    """A policy uses an element this evaluator does not implement."""


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


class Match(Enum):
    """How a resource-based policy's Principal matched the caller."""

    NONE = 0
    ACCOUNT = 1  # the caller's account: its identity policies must also allow
    PRINCIPAL = 2  # the caller itself (or "*")


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of a request."""

    arn: str  # user ARN, or assumed-role session ARN (arn:aws:sts::<acct>:assumed-role/<role>/<session>)
    account_id: str
    identity_arn: str  # the user ARN, or the role ARN (with its path) a session belongs to
    kind: str  # "user", "role-session", or "web-identity" (identity_arn: the OIDC provider's ARN)


@dataclass(frozen=True)
class Request:
    action: str  # "service:Action"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    caller: Caller
    context: Mapping[str, Any] = field(default_factory=dict)  # condition keys, lower-cased


@dataclass(frozen=True)
class Result:
    """One policy set's verdict on one request."""

    explicit_deny: bool = False
    allowed: bool = False
    principal_match: Match = Match.NONE  # strongest match among applying Allow statements


# --- wildcards -------------------------------------------------------------------------------


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """``*`` any run of characters, ``?`` any one character, everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(text: str, context: Mapping[str, Any]) -> str | None:
    """Policy variables; None when one names a key the request lacks (the element then matches nothing)."""
    special = {"*": "*", "?": "?", "$": "$"}
    missing = False

    def replace(match: re.Match) -> str:
        nonlocal missing
        key = match.group(1)
        if key in special:
            return special[key]
        value = context.get(key.lower())
        if value is None or isinstance(value, list):
            missing = True
            return ""
        return str(value)

    result = _VARIABLE.sub(replace, text)
    return None if missing else result


# --- elements --------------------------------------------------------------------------------


def action_matches(patterns: Any, action: str) -> bool:
    return any(_glob(p, action, ignore_case=True) for p in _as_list(patterns))


def resource_matches(patterns: Any, resource: str, context: Mapping[str, Any]) -> bool:
    for pattern in _as_list(patterns):
        pattern = _substitute(pattern, context)
        if pattern is None:
            continue
        if pattern == "*" or _glob(pattern, resource):
            return True
    return False


_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def principal_match(element: Any, caller: Caller) -> Match:
    """How a Principal element admits ``caller``."""
    if element == "*":
        return Match.PRINCIPAL
    if not isinstance(element, dict):
        return Match.NONE
    if caller.kind == "web-identity":
        # A web-identity token's caller is its IAM OIDC provider; only a Federated principal
        # naming that provider (or "*") admits it, never an account or a role.
        return Match.PRINCIPAL if caller.identity_arn in _as_list(element.get("Federated")) else Match.NONE
    best = Match.NONE
    for value in _as_list(element.get("AWS")):
        if value == "*" or value in (caller.arn, caller.identity_arn):
            return Match.PRINCIPAL
        root = _ROOT.match(value)
        account = root.group(1) if root else value if re.fullmatch(r"\d{12}", value) else None
        if account == caller.account_id:
            best = Match.ACCOUNT
    # "Service", "Federated" and "CanonicalUser" never name an IAM user or role session.
    return best


# --- conditions ------------------------------------------------------------------------------


def _number(value: Any) -> float:
    return float(value)


def _date(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    text = str(value)
    if re.fullmatch(r"\d+", text):
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _arn_like(pattern: str, value: str) -> bool:
    # ARN operators match segment by segment; a six-part ARN pattern against a six-part ARN.
    pattern_parts, value_parts = pattern.split(":", 5), value.split(":", 5)
    if len(pattern_parts) != len(value_parts):
        return False
    return all(_glob(p, v) for p, v in zip(pattern_parts, value_parts))


# operator -> (compare(policy_value, request_value), negated)
_OPERATORS = {
    "stringequals": (lambda p, v: p == v, False),
    "stringnotequals": (lambda p, v: p == v, True),
    "stringequalsignorecase": (lambda p, v: p.lower() == v.lower(), False),
    "stringnotequalsignorecase": (lambda p, v: p.lower() == v.lower(), True),
    "stringlike": (lambda p, v: _glob(p, v), False),
    "stringnotlike": (lambda p, v: _glob(p, v), True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
    "bool": (lambda p, v: p.lower() == v.lower(), False),
    "numericequals": (lambda p, v: _number(v) == _number(p), False),
    "numericnotequals": (lambda p, v: _number(v) == _number(p), True),
    "numericlessthan": (lambda p, v: _number(v) < _number(p), False),
    "numericlessthanequals": (lambda p, v: _number(v) <= _number(p), False),
    "numericgreaterthan": (lambda p, v: _number(v) > _number(p), False),
    "numericgreaterthanequals": (lambda p, v: _number(v) >= _number(p), False),
    "dateequals": (lambda p, v: _date(v) == _date(p), False),
    "datenotequals": (lambda p, v: _date(v) == _date(p), True),
    "datelessthan": (lambda p, v: _date(v) < _date(p), False),
    "datelessthanequals": (lambda p, v: _date(v) <= _date(p), False),
    "dategreaterthan": (lambda p, v: _date(v) > _date(p), False),
    "dategreaterthanequals": (lambda p, v: _date(v) >= _date(p), False),
    "ipaddress": (lambda p, v: ipaddress.ip_address(v) in ipaddress.ip_network(p, strict=False), False),
    "notipaddress": (lambda p, v: ipaddress.ip_address(v) in ipaddress.ip_network(p, strict=False), True),
}


def _condition_holds(operator: str, key: str, policy_values: Any, context: Mapping[str, Any]) -> bool:
    name = operator.lower()
    qualifier = None
    if ":" in name:
        qualifier, name = name.split(":", 1)
        if qualifier not in ("foranyvalue", "forallvalues"):
            raise UnsupportedPolicy(f"condition set qualifier {operator!r}")
    if_exists = name.endswith("ifexists")
    if if_exists:
        name = name[: -len("ifexists")]
    raw = context.get(key.lower())
    policy_values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(policy_values)]
    if name == "null":
        # "true": the key must be absent; "false": present.
        return any((raw is None) == (p.lower() == "true") for p in policy_values)
    if name not in _OPERATORS:
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    compare, negated = _OPERATORS[name]
    if raw is None:
        if qualifier == "forallvalues":
            return True
        if qualifier == "foranyvalue":
            return False
        return if_exists or negated
    substituted = [_substitute(p, context) for p in policy_values]
    substituted = [p for p in substituted if p is not None]
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(raw)]

    def one(value: str) -> bool:
        matched = any(compare(p, value) for p in substituted)
        return not matched if negated else matched

    if qualifier == "forallvalues":
        return all(one(v) for v in values)
    return any(one(v) for v in values)


def conditions_hold(condition: Mapping[str, Any] | None, context: Mapping[str, Any]) -> bool:
    """Every operator, and within it every key, must hold (AND); values within a key are ORed."""
    for operator, keys in (condition or {}).items():
        for key, values in keys.items():
            if not _condition_holds(operator, key, values, context):
                return False
    return True


# --- statements and policies -----------------------------------------------------------------


def _statements(document: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(document, str):
        # IAM hands documents back URL-encoded (GetRole, GetRolePolicy); accept either form.
        document = json.loads(document if document.lstrip().startswith("{") else unquote(document))
    return _as_list(document.get("Statement"))


def _statement_applies(statement: Mapping[str, Any], request: Request, resource_based: bool) -> Match | None:
    """None if the statement does not apply to the request; else how its principal matched."""
    if "NotAction" in statement:
        if action_matches(statement["NotAction"], request.action):
            return None
    elif not action_matches(statement.get("Action"), request.action):
        return None
    if "NotResource" in statement:
        if resource_matches(statement["NotResource"], request.resource, request.context):
            return None
    elif "Resource" in statement:
        if not resource_matches(statement["Resource"], request.resource, request.context):
            return None
    elif not resource_based:
        return None  # an identity policy statement without Resource grants nothing
    matched = Match.PRINCIPAL
    if resource_based:
        if "NotPrincipal" in statement:
            if principal_match(statement["NotPrincipal"], request.caller) is not Match.NONE:
                return None
        else:
            matched = principal_match(statement.get("Principal"), request.caller)
            if matched is Match.NONE:
                return None
    if not conditions_hold(statement.get("Condition"), request.context):
        return None
    return matched


def evaluate(documents: Iterable[Any], request: Request, resource_based: bool = False) -> Result:
    """The verdict of a set of policies of one type (identity, boundary, session, resource)."""
    explicit_deny = False
    allowed = False
    best = Match.NONE
    for document in documents:
        for statement in _statements(document):
            matched = _statement_applies(statement, request, resource_based)
            if matched is None:
                continue
            if statement.get("Effect") == Effect.DENY.value:
                explicit_deny = True
            elif statement.get("Effect") == Effect.ALLOW.value:
                allowed = True
                best = max(best, matched, key=lambda m: m.value)
    return Result(explicit_deny=explicit_deny, allowed=allowed, principal_match=best)
