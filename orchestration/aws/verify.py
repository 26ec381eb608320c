"""Verify the deployed path through the live APIs (never Terraform state): what a data
scientist's Studio needs to reach EMR."""

from __future__ import annotations

import base64
import fnmatch
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import botocore.exceptions
from botocore import UNSIGNED
from botocore.config import Config

from config import ENVS_DIR, EnvironmentFile, StudioGeneration, Target, load_env
from modules.discovery import DISCOVERY_FILE_NAME
from emulator.extensions.access import policy as access_policy
from modules import policies
from modules.emr_product import STUDIO_VISIBILITY_TAG
from modules.policies import CONNECT_PATH_ACTIONS, CONTROLLER_POLICY, JOB_POLICY, STS_AUDIENCE, WEB_IDENTITY_ACTION
from stacks import naming

from orchestration.aws import kubernetes, sessions
from orchestration.aws.accounts import AccountSession, Accounts, all_pages
from orchestration.aws.handshake import live_connections
from orchestration.aws.studio_apps import find_domain_id
from orchestration.local import emulator as emulator_control
from orchestration.terraform.synth import Workspace


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    env_name: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> str:
        return json.dumps({"environment": self.env_name, "ok": self.ok, "checks": [asdict(c) for c in self.checks]}, indent=2)


class _Verifier:
    def __init__(self, env: EnvironmentFile, accounts: Accounts):
        self.env = env
        self.accounts = accounts
        self.checks: list[Check] = []
        self.studio = accounts.studio()
        self.domain = None

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    def run(self) -> list[Check]:
        studio_sg = self.check_domain()
        connections = live_connections(self.env, self.accounts) if self.env.peered_emr_accounts else {}
        for account in self.env.environment.emr_accounts:
            emr = self.accounts.emr(account)
            peered = account.account_id != self.env.environment.studio_account.account_id
            if peered:
                self.check_peering(account, connections.get(account.stack_id))
            self.check_emr_ingress(account, emr, studio_sg, peered)
            if peered:
                self.check_discovery_role(account, emr)
            self.check_service_catalog(account, emr)
        if self.env.environment.kubernetes is not None:
            self.check_kubernetes()
        return self.checks

    # --- Studio ---------------------------------------------------------------------------

    def check_domain(self) -> str | None:
        sagemaker = self.studio.client("sagemaker")
        domain_id = find_domain_id(self.env, self.accounts)
        if not self.check("domain exists", domain_id is not None, f"domain {self.env.environment.domain.name!r}"):
            return None
        domain = sagemaker.describe_domain(DomainId=domain_id)
        self.domain = domain
        settings = domain.get("DefaultUserSettings", {})
        security_groups = settings.get("SecurityGroups", [])
        studio_sg = security_groups[0] if security_groups else None
        ec2 = self.studio.client("ec2")
        subnets = ec2.describe_subnets(SubnetIds=domain["SubnetIds"])["Subnets"] if domain.get("SubnetIds") else []
        network = self.env.environment.studio_account.network
        expected = set(getattr(network, "private_subnet_cidrs", []) or [])
        actual_cidrs = {s["CidrBlock"] for s in subnets}
        subnets_ok = (actual_cidrs == expected) if expected else set(domain["SubnetIds"]) == set(network.private_subnet_ids)
        self.check(
            "domain is VPC-only in the private subnets",
            domain.get("AppNetworkAccessType") == "VpcOnly" and subnets_ok and len({s["AvailabilityZone"] for s in subnets}) >= 2,
            f"{domain_id}: {domain.get('AppNetworkAccessType')}, subnets {sorted(actual_cidrs)} in "
            f"{sorted({s['AvailabilityZone'] for s in subnets})}, security group {studio_sg}",
        )
        expected_arns = naming.discovery_role_arns(self.env)
        generation = self.env.promoted.studio_generation
        if expected_arns and generation in (StudioGeneration.classic, StudioGeneration.both):
            lcc_arns = settings.get("JupyterServerAppSettings", {}).get("LifecycleConfigArns", [])
            found = {}
            for arn in lcc_arns:
                name = arn.rsplit("/", 1)[-1]
                config = sagemaker.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)
                script = base64.b64decode(config["StudioLifecycleConfigContent"]).decode()
                if DISCOVERY_FILE_NAME in script:
                    found = json.loads(script.split('<<- "EOF"\n', 1)[1].split("\nEOF", 1)[0])
            self.check("Classic lifecycle script names the EMR roles", found == expected_arns,
                       f"{DISCOVERY_FILE_NAME}: {found or 'not written by any lifecycle configuration'}")
        if expected_arns and generation in (StudioGeneration.jupyterlab, StudioGeneration.both):
            emr_settings = settings.get("JupyterLabAppSettings", {}).get("EmrSettings", {})
            lab = sorted(emr_settings.get("AssumableRoleArns", []))
            runtime = sorted(emr_settings.get("ExecutionRoleArns", []))
            self.check("JupyterLab EMR settings name the EMR roles",
                       lab == sorted(expected_arns.values()) and runtime == naming.runtime_role_arns(self.env),
                       f"assumable roles {lab}; runtime roles {runtime}")
        return studio_sg

    # --- network --------------------------------------------------------------------------

    def check_peering(self, account, connection: dict | None) -> None:
        label = f"peering to {account.account_id}"
        if not self.check(f"{label} is active", connection is not None and connection["Status"]["Code"] == "active",
                          connection["Status"]["Code"] if connection else "no live peering connection"):
            return
        pcx = connection["VpcPeeringConnectionId"]
        requester_dns = connection["RequesterVpcInfo"].get("PeeringOptions", {}).get("AllowDnsResolutionFromRemoteVpc")
        accepter_dns = connection["AccepterVpcInfo"].get("PeeringOptions", {}).get("AllowDnsResolutionFromRemoteVpc")
        self.check(f"{label}: private DNS resolution on both sides", requester_dns and accepter_dns,
                   f"{pcx}: requester {requester_dns}, accepter {accepter_dns}")
        studio_vpc = connection["RequesterVpcInfo"]["VpcId"]
        emr_vpc = connection["AccepterVpcInfo"]["VpcId"]
        to_emr = _tables_missing_route(self.studio, studio_vpc, account.network.cidr, pcx, self.domain.get("SubnetIds", []))
        self.check(f"{label}: Studio subnets route {account.network.cidr} to the peering", not to_emr,
                   f"{pcx}" + (f"; missing in {to_emr}" if to_emr else ""))
        studio_cidr = self.env.environment.studio_account.network.cidr
        to_studio = _tables_missing_route(self.accounts.emr(account), emr_vpc, studio_cidr, pcx, None)
        self.check(f"{label}: EMR subnets route {studio_cidr} back", not to_studio,
                   f"{pcx}" + (f"; missing in {to_studio}" if to_studio else ""))

    def check_emr_ingress(self, account, emr: AccountSession, studio_sg: str | None, peered: bool) -> None:
        name = naming.emr_names(self.env, account).security_groups["primary"]
        ec2 = emr.client("ec2")
        groups = all_pages(ec2, "describe_security_groups", "SecurityGroups", Filters=[{"Name": "group-name", "Values": [name]}])
        if not self.check(f"EMR primary SG exists in {account.account_id}", groups, name):
            return
        group_id = groups[0]["GroupId"]
        rules = all_pages(ec2, "describe_security_group_rules", "SecurityGroupRules",
                          Filters=[{"Name": "group-id", "Values": [group_id]}])
        ingress = [r for r in rules if not r["IsEgress"]]
        from_cidr = [r for r in ingress if r.get("CidrIpv4") or r.get("CidrIpv6")]
        admitted = {r["FromPort"] for r in ingress if r.get("ReferencedGroupInfo", {}).get("GroupId") == studio_sg
                    and r["IpProtocol"] == "tcp" and r["FromPort"] == r["ToPort"]}
        wanted = set(self.env.promoted.studio_to_emr_ports)
        self.check(
            f"EMR SG in {account.account_id} admits ports {sorted(wanted)} from the Studio SG only",
            admitted >= wanted and not from_cidr,
            f"{group_id}: from {studio_sg} on {sorted(admitted)}" + (f"; CIDR sources {from_cidr}" if from_cidr else ""),
        )

    # --- IAM and Service Catalog ----------------------------------------------------------

    def check_discovery_role(self, account, emr: AccountSession) -> None:
        execution_arn = naming.execution_role_arn(self.env)
        role_name = naming.discovery_role_name(self.env)
        try:
            role = emr.client("iam").get_role(RoleName=role_name)["Role"]
        except botocore.exceptions.ClientError:
            self.check(f"EMR role in {account.account_id} trusts the Studio execution role", False, f"{role_name} missing")
            return
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        principals = [p for s in trust["Statement"] if s["Effect"] == "Allow" for p in _aws_principals(s)]
        self.check(f"EMR role in {account.account_id} trusts the Studio execution role", principals == [execution_arn],
                   f"{role['Arn']} trusts {principals}")
        self.check_connect_path(account, emr, role_name)
        policy = self.studio.client("iam").get_role_policy(
            RoleName=naming.execution_role_name(self.env), PolicyName=naming.ASSUME_EMR_ROLES_POLICY
        )["PolicyDocument"]
        policy = json.loads(policy) if isinstance(policy, str) else policy
        resources = [r for s in policy["Statement"] if s["Action"] == "sts:AssumeRole" for r in _as_list(s["Resource"])]
        self.check(f"Studio execution role may assume the EMR role in {account.account_id}", role["Arn"] in resources,
                   f"{naming.execution_role_name(self.env)} may assume {resources}")

    def check_connect_path(self, account, emr: AccountSession, role_name: str) -> None:
        """IAM-2: the role allows on a cluster of its account every call the real connect path
        makes (journey runs that path; this reads the live policy, for environments where no
        cluster may be launched)."""
        iam = emr.client("iam")
        documents = []
        for name in all_pages(iam, "list_role_policies", "PolicyNames", RoleName=role_name):
            document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            documents.append(json.loads(document) if isinstance(document, str) else document)
        cluster = f"arn:{naming.PARTITION}:elasticmapreduce:{account.region}:{account.account_id}:cluster/j-EXAMPLE"
        missing = [action for action in CONNECT_PATH_ACTIONS if not _allows(documents, action, cluster)]
        self.check(f"EMR role in {account.account_id} allows the connect path", not missing,
                   f"{role_name}: " + (f"missing {missing}" if missing else ", ".join(a.split(":")[1] for a in CONNECT_PATH_ACTIONS)))

    def check_service_catalog(self, account, emr: AccountSession) -> None:
        catalog = emr.client("servicecatalog")
        product_name = naming.emr_product_name(self.env, account)
        try:
            product = catalog.describe_product_as_admin(Name=product_name)
        except botocore.exceptions.ClientError:
            self.check(f"EMR product visible in Studio ({account.account_id})", False, f"{product_name} missing")
            return
        tags = {t["Key"]: t["Value"] for t in product.get("Tags", [])}
        visible = all(tags.get(k) == v for k, v in STUDIO_VISIBILITY_TAG.items())
        self.check(f"EMR product visible in Studio ({account.account_id})", visible, f"{product_name} tags {tags}")
        product_id = product["ProductViewDetail"]["ProductViewSummary"]["ProductId"]
        portfolios = all_pages(catalog, "list_portfolios_for_product", "PortfolioDetails", ProductId=product_id)
        constraints = [c for p in portfolios
                       for c in all_pages(catalog, "list_constraints_for_portfolio", "ConstraintDetails",
                                          PortfolioId=p["Id"], ProductId=product_id)]
        self.check(f"EMR product has its launch constraint ({account.account_id})",
                   any(c["Type"] == "LAUNCH" for c in constraints), f"constraints {[c['Type'] for c in constraints]}")


    # --- IAM-6: Kubernetes through IRSA ------------------------------------------------------

    def check_kubernetes(self) -> None:
        where = kubernetes.session(self.env, self.accounts)
        iam = where.client("iam")
        settings = self.env.promoted.kubernetes
        subject = settings.subject
        issuer_url = kubernetes.live_issuer(self.env, self.accounts)
        issuer = naming.issuer_host_path(issuer_url)
        provider_arn = naming.oidc_provider_arn(where.account_id, issuer_url)
        try:
            audiences = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn).get("ClientIDList", [])
        except botocore.exceptions.ClientError:
            audiences = None
        self.check(f"OIDC provider for the cluster's issuer admits audience {STS_AUDIENCE}",
                   audiences is not None and STS_AUDIENCE in audiences,
                   f"{provider_arn}: " + (f"client ids {audiences}" if audiences is not None else "missing"))
        role_name = naming.kubernetes_controller_role_name(self.env)
        try:
            role = iam.get_role(RoleName=role_name)["Role"]
        except botocore.exceptions.ClientError:
            self.check(f"Kubernetes controller role trusts only {subject}", False, f"{role_name} missing")
            return
        trust = _document(role["AssumeRolePolicyDocument"])
        expected = policies.web_identity_trust(provider_arn, issuer, subject, STS_AUDIENCE)["Statement"]
        self.check(f"Kubernetes controller role trusts only {subject}",
                   [_normalized(s) for s in _as_list(trust["Statement"])] == [_normalized(s) for s in expected],
                   f"{role['Arn']}: {json.dumps(trust['Statement'])}")
        other = "default" if settings.service_account_name != "default" else "other"
        wrong = f"system:serviceaccount:{settings.namespace_name}:{other}"
        for token_subject, wanted in ((subject, True), (wrong, False)):
            refusal = self.web_identity_refusal(where, role["Arn"], trust, provider_arn, issuer_url, token_subject)
            self.check(f"a token for {token_subject} is {'admitted' if wanted else 'refused'}", (refusal is None) == wanted,
                       refusal or f"{role_name} assumed")
        job_arn = naming.role_arn(where.account_id, naming.kubernetes_job_role_name(self.env))
        controller_policy = _document(iam.get_role_policy(RoleName=role_name, PolicyName=CONTROLLER_POLICY)["PolicyDocument"])
        passable = sorted({r for s in _as_list(controller_policy["Statement"]) if s["Effect"] == "Allow"
                           and any(fnmatch.fnmatchcase("iam:passrole", a.lower()) for a in _as_list(s.get("Action")))
                           for r in _as_list(s.get("Resource"))})
        self.check("Kubernetes controller may pass the job role only", passable == [job_arn], f"{role_name} may pass {passable}")
        self.check_job_role(where, job_arn)

    def web_identity_refusal(self, where: AccountSession, role_arn: str, trust: dict, provider_arn: str, issuer_url: str,
                             subject: str) -> str | None:
        """Why a service account token for ``subject`` would not get the role's credentials, or
        None. On the emulator, STS itself decides (a token it accepts unsigned); on AWS only the
        cluster can sign a token, so the live trust policy is evaluated against the claims."""
        claims = kubernetes.service_account_claims(issuer_url, subject)
        if self.env.environment.target is Target.emulator:
            sts = sessions.client("sts", region_name=where.region, endpoint_url=self.accounts.endpoint_url,
                               config=Config(signature_version=UNSIGNED))
            try:
                sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="verify-irsa",
                                                  WebIdentityToken=kubernetes.unsigned_token(claims))
                return None
            except botocore.exceptions.ClientError as exc:
                return f"STS: {exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}"
        issuer = naming.issuer_host_path(issuer_url)
        caller = access_policy.Caller(arn=provider_arn, account_id="", identity_arn=provider_arn, kind="web-identity")
        context = {f"{issuer}:aud".lower(): claims["aud"], f"{issuer}:sub".lower(): subject}
        request = access_policy.Request(WEB_IDENTITY_ACTION, role_arn, caller, context)
        result = access_policy.evaluate([trust], request, resource_based=True)
        return None if result.allowed and not result.explicit_deny else "the live trust policy does not admit these claims"

    def check_job_role(self, where: AccountSession, job_arn: str) -> None:
        iam = where.client("iam")
        name = naming.kubernetes_job_role_name(self.env)
        attached = [p["PolicyName"] for p in all_pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name)]
        document = _document(iam.get_role_policy(RoleName=name, PolicyName=JOB_POLICY)["PolicyDocument"])
        allowed = {f"arn:{naming.PARTITION}:s3:::{b}{suffix}" for b in self.env.environment.kubernetes.job_buckets
                   for suffix in ("", "/*")}
        s3 = sorted({r for s in _as_list(document["Statement"]) if any(a.lower().startswith("s3:") for a in _as_list(s.get("Action")))
                     for r in _as_list(s.get("Resource"))})
        self.check("Kubernetes job role reaches the configured buckets only",
                   not attached and s3 and set(s3) <= allowed,
                   f"{job_arn}: S3 on {s3}" + (f"; managed policies {attached}" if attached else ""))


def _document(document) -> dict:
    return json.loads(document) if isinstance(document, str) else document


def _normalized(statement: dict) -> dict:
    """A trust statement as compared: its effect, principal, action list and conditions."""
    return {"Effect": statement.get("Effect"), "Principal": statement.get("Principal"),
            "Action": sorted(_as_list(statement.get("Action"))), "Condition": statement.get("Condition")}


def _tables_missing_route(session: AccountSession, vpc_id: str, cidr: str, pcx: str, subnet_ids: list[str] | None) -> list[str]:
    tables = all_pages(session.client("ec2"), "describe_route_tables", "RouteTables",
                       Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    if subnet_ids is not None:
        tables = [t for t in tables if any(a.get("SubnetId") in subnet_ids for a in t.get("Associations", []))]
    else:
        tables = [t for t in tables if any(a.get("SubnetId") for a in t.get("Associations", []))]
    return [t["RouteTableId"] for t in tables
            if not any(r.get("DestinationCidrBlock") == cidr and r.get("VpcPeeringConnectionId") == pcx for r in t["Routes"])] \
        or ([] if tables else [f"(no route tables of {vpc_id} serve the subnets)"])


def _allows(documents: list[dict], action: str, resource: str) -> bool:
    """An Allow statement grants ``action`` on ``resource`` and no Deny statement takes it back."""
    allowed = False
    for statement in (s for d in documents for s in _as_list(d["Statement"])):
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) and \
                any(fnmatch.fnmatchcase(resource, r) for r in resources):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _aws_principals(statement: dict) -> list[str]:
    principal = statement.get("Principal", {})
    return _as_list(principal.get("AWS", [])) if isinstance(principal, dict) else [principal]


def verify(env_name: str, workspace: Workspace = Workspace(), envs_dir: Path = ENVS_DIR) -> VerifyReport:
    env = load_env(env_name, envs_dir)
    emulator = None
    if env.environment.target is Target.emulator:
        emulator = emulator_control.current(workspace.state_root)
        if emulator is None:
            return VerifyReport(env_name, [Check("emulator is running", False,
                                                 f"no emulator is running; run `python main.py deploy --env {env_name}` first")])
    accounts = Accounts(env, emulator)
    accounts.preflight()
    return VerifyReport(env_name, _Verifier(env, accounts).run())
