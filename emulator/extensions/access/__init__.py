"""IAM enforced for every simulated account, as AWS enforces it: see each module's docstring.

* ``organization``: the management account, its administrator and its member accounts (the
  identities every request is signed with); set up before the first request is served.
* ``enforcement``: every request authenticated (SigV4) and authorized (identity policies,
  permissions boundaries, session policies, role trust policies in the target account).
* ``policy``: the policy language, evaluated as AWS evaluates it.
* ``resources``: the resource ARN an action is authorized against, where AWS authorizes one.
* ``web_identity``: AssumeRoleWithWebIdentity decided by the token's claims and the role's trust.
"""

from __future__ import annotations

from . import enforcement, organization, resources, web_identity


def install() -> None:
    resources.install()
    organization.install()
    enforcement.install()
    web_identity.install()
