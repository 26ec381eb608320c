"""The emulator enforces IAM as AWS does (emulator/extensions/access/): who may assume which role
across accounts, resource-scoped EMR permissions, permissions boundaries, authentication, and
the organization the CLI enters accounts through. Each assertion is what AWS answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest

from config.model import EMULATOR_ACCESS_ROLE, RoleCredentials
from emulator import identities
from emulator.extensions.access import policy
from orchestration.aws.accounts import entered_session
from tests.emulator_support import account_session, admin_session, emulator, enroll  # noqa: F401 (fixture)

pytestmark = pytest.mark.emulator

A, B = "111111111111", "222222222222"  # a Studio-like and an EMR-like account
REGION = "us-east-1"
TRUST_MANAGEMENT = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{identities.MANAGEMENT_ACCOUNT_ID}:root"},
    "Action": "sts:AssumeRole"}]}


def client(session: boto3.Session, service: str, emulator):
    return session.client(service, region_name=REGION, endpoint_url=emulator.url)


def trust(*principals) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"} for principal in principals]})


def allow(actions, resources="*") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resources}]})


def make_role(emulator, account: str, name: str, trust_policy: str, permissions: str | None = None,
              boundary_arn: str | None = None) -> str:
    iam = client(account_session(emulator, account), "iam", emulator)
    extra = {"PermissionsBoundary": boundary_arn} if boundary_arn else {}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy, **extra)["Role"]["Arn"]
    if permissions:
        iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=permissions)
    return arn


def assume(session: boto3.Session, role_arn: str, emulator, name: str = "test") -> boto3.Session:
    credentials = client(session, "sts", emulator).assume_role(RoleArn=role_arn, RoleSessionName=name)["Credentials"]
    return boto3.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"], region_name=REGION)


def as_role(emulator, account: str, name: str) -> boto3.Session:
    """The administrator, then a role of ``account`` that trusts the management account."""
    return assume(admin_session(), f"arn:aws:iam::{account}:role/{name}", emulator)


def denied(call, *args, **kwargs) -> dict:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]


# --- cross-account AssumeRole -------------------------------------------------------------------


@pytest.fixture(scope="module")
def discovery(emulator):
    """In A: three caller roles; in B: a role whose trust names two of them (IAM-2's shape)."""
    may_assume_b = allow("sts:AssumeRole", f"arn:aws:iam::{B}:role/*")
    named = make_role(emulator, A, "named-caller", json.dumps(TRUST_MANAGEMENT), may_assume_b)
    make_role(emulator, A, "unnamed-caller", json.dumps(TRUST_MANAGEMENT), may_assume_b)
    unpermitted = make_role(emulator, A, "unpermitted-caller", json.dumps(TRUST_MANAGEMENT),
                            allow("ec2:DescribeVpcs"))
    target = make_role(emulator, B, "discovery", trust({"AWS": [named, unpermitted]}))
    return target


def test_the_role_named_in_the_trust_policy_assumes_the_cross_account_role(emulator, discovery):
    session = assume(as_role(emulator, A, "named-caller"), discovery, emulator, "studio")
    identity = client(session, "sts", emulator).get_caller_identity()
    assert identity["Account"] == B
    assert identity["Arn"] == f"arn:aws:sts::{B}:assumed-role/discovery/studio"


def test_a_role_not_named_in_the_trust_policy_is_refused_despite_its_identity_policy(emulator, discovery):
    caller = as_role(emulator, A, "unnamed-caller")
    error = denied(client(caller, "sts", emulator).assume_role, RoleArn=discovery, RoleSessionName="session")
    assert error["Code"] == "AccessDenied"
    # AWS names the caller's session, the action and the role, and not which policy refused.
    assert error["Message"] == (f"User: arn:aws:sts::{A}:assumed-role/unnamed-caller/test is not authorized to "
                                f"perform: sts:AssumeRole on resource: {discovery}")


def test_a_named_role_without_sts_assume_role_in_its_identity_policy_is_refused(emulator, discovery):
    caller = as_role(emulator, A, "unpermitted-caller")
    error = denied(client(caller, "sts", emulator).assume_role, RoleArn=discovery, RoleSessionName="session")
    assert error["Code"] == "AccessDenied"
    assert error["Message"].startswith(f"User: arn:aws:sts::{A}:assumed-role/unpermitted-caller/test is not "
                                       f"authorized to perform: sts:AssumeRole on resource: {discovery}")
    assert "because no identity-based policy allows the sts:AssumeRole action" in error["Message"]


def test_an_account_principal_admits_that_accounts_roles_through_their_own_policies(emulator, discovery):
    account_wide = make_role(emulator, B, "account-wide", trust({"AWS": A}))
    root_wide = make_role(emulator, B, "root-wide", trust({"AWS": f"arn:aws:iam::{A}:root"}))
    for target in (account_wide, root_wide):
        assume(as_role(emulator, A, "unnamed-caller"), target, emulator)  # its identity policy allows role/*
        error = denied(client(as_role(emulator, A, "unpermitted-caller"), "sts", emulator).assume_role,
                       RoleArn=target, RoleSessionName="session")
        assert error["Code"] == "AccessDenied"


def test_a_service_principal_admits_no_iam_caller_and_a_wildcard_admits_any(emulator, discovery):
    service_only = make_role(emulator, B, "service-only", trust({"Service": "sagemaker.amazonaws.com"}))
    anyone = make_role(emulator, B, "anyone", trust({"AWS": "*"}))
    caller = as_role(emulator, A, "unnamed-caller")
    assert denied(client(caller, "sts", emulator).assume_role, RoleArn=service_only, RoleSessionName="session")["Code"] == "AccessDenied"
    assume(caller, anyone, emulator)


def test_a_role_that_does_not_exist_is_refused_like_an_untrusting_one(emulator, discovery):
    missing = f"arn:aws:iam::{B}:role/no-such-role"
    error = denied(client(as_role(emulator, A, "named-caller"), "sts", emulator).assume_role,
                   RoleArn=missing, RoleSessionName="session")
    assert error["Code"] == "AccessDenied"
    assert error["Message"].endswith(f"sts:AssumeRole on resource: {missing}")


def test_an_external_id_condition_is_enforced(emulator, discovery):
    named = f"arn:aws:iam::{A}:role/named-caller"
    target = make_role(emulator, B, "with-external-id", json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": named}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "expected"}}}]}))
    sts = client(as_role(emulator, A, "named-caller"), "sts", emulator)
    assert denied(sts.assume_role, RoleArn=target, RoleSessionName="session")["Code"] == "AccessDenied"
    assert denied(sts.assume_role, RoleArn=target, RoleSessionName="session", ExternalId="other")["Code"] == "AccessDenied"
    sts.assume_role(RoleArn=target, RoleSessionName="session", ExternalId="expected")


# --- EMR: resource-level permissions --------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_id(emulator):
    emr = client(account_session(emulator, B), "emr", emulator)
    return emr.run_job_flow(
        Name="iam-test", ReleaseLabel="emr-6.15.0", JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
        Instances={"MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge", "InstanceCount": 1,
                   "KeepJobFlowAliveWhenNoSteps": True},
    )["JobFlowId"]


def test_emr_calls_are_authorized_against_the_cluster_arn(emulator, cluster_id):
    clusters = f"arn:aws:elasticmapreduce:{REGION}:{B}:cluster/*"
    make_role(emulator, B, "emr-reader", json.dumps(TRUST_MANAGEMENT), json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["elasticmapreduce:DescribeCluster", "elasticmapreduce:ListInstanceGroups"],
         "Resource": clusters},
        {"Effect": "Allow", "Action": "elasticmapreduce:ListClusters", "Resource": "*"}]}))
    emr = client(as_role(emulator, B, "emr-reader"), "emr", emulator)
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Id"] == cluster_id
    assert cluster_id in [c["Id"] for c in emr.list_clusters()["Clusters"]]
    error = denied(emr.list_instances, ClusterId=cluster_id)
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:sts::{B}:assumed-role/emr-reader/test is not authorized to perform: "
        f"elasticmapreduce:ListInstances on resource: arn:aws:elasticmapreduce:{REGION}:{B}:cluster/{cluster_id} "
        f"because no identity-based policy allows the elasticmapreduce:ListInstances action")


def test_a_cluster_arn_of_another_account_or_an_unscoped_action_grants_nothing(emulator, cluster_id):
    make_role(emulator, B, "emr-elsewhere", json.dumps(TRUST_MANAGEMENT), json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["elasticmapreduce:DescribeCluster", "elasticmapreduce:ListClusters"],
         "Resource": f"arn:aws:elasticmapreduce:{REGION}:{A}:cluster/*"}]}))
    emr = client(as_role(emulator, B, "emr-elsewhere"), "emr", emulator)
    assert denied(emr.describe_cluster, ClusterId=cluster_id)["Code"] == "AccessDeniedException"
    # ListClusters has no resource type: only "Resource": "*" grants it.
    assert denied(emr.list_clusters)["Code"] == "AccessDeniedException"


# --- permissions boundaries -------------------------------------------------------------------


def test_a_permissions_boundary_limits_what_the_identity_policy_allows(emulator):
    iam = client(account_session(emulator, B), "iam", emulator)
    boundary = iam.create_policy(PolicyName="describe-only", PolicyDocument=allow("ec2:Describe*"))["Policy"]["Arn"]
    make_role(emulator, B, "bounded", json.dumps(TRUST_MANAGEMENT), allow(["ec2:DescribeVpcs", "iam:ListRoles"]),
              boundary_arn=boundary)
    session = as_role(emulator, B, "bounded")
    client(session, "ec2", emulator).describe_vpcs()
    error = denied(client(session, "iam", emulator).list_roles)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (f"User: arn:aws:sts::{B}:assumed-role/bounded/test is not authorized to perform: "
                                f"iam:ListRoles because no permissions boundary allows the iam:ListRoles action")


def test_an_explicit_deny_wins_over_an_allow(emulator):
    make_role(emulator, B, "denied-vpcs", json.dumps(TRUST_MANAGEMENT), json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ec2:DescribeVpcs", "Resource": "*"}]}))
    ec2 = client(as_role(emulator, B, "denied-vpcs"), "ec2", emulator)
    ec2.describe_subnets()
    error = denied(ec2.describe_vpcs)
    assert error["Code"] == "UnauthorizedOperation"
    assert "with an explicit deny in an identity-based policy" in error["Message"]


def test_session_policies_limit_an_assumed_role(emulator):
    iam = client(account_session(emulator, B), "iam", emulator)
    subnets_only = iam.create_policy(PolicyName="subnets-only", PolicyDocument=allow("ec2:DescribeSubnets"))["Policy"]["Arn"]
    role = make_role(emulator, B, "broad", json.dumps(TRUST_MANAGEMENT), allow("ec2:*"))
    sts = client(admin_session(), "sts", emulator)
    for limit in ({"Policy": allow("ec2:DescribeSubnets")}, {"PolicyArns": [{"arn": subnets_only}]}):
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="limited", **limit)["Credentials"]
        ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=emulator.url, aws_access_key_id=credentials["AccessKeyId"],
                           aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
        ec2.describe_subnets()
        error = denied(ec2.describe_vpcs)
        assert error["Code"] == "UnauthorizedOperation"
        assert "because no session policy allows the ec2:DescribeVpcs action" in error["Message"]


# --- authentication ---------------------------------------------------------------------------------


def test_unknown_keys_are_refused(emulator):
    stranger = boto3.Session(aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                             aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region_name=REGION)
    error = denied(client(stranger, "sts", emulator).get_caller_identity)
    assert (error["Code"], error["Message"]) == ("InvalidClientTokenId", "The security token included in the request is invalid.")
    assert denied(client(stranger, "ec2", emulator).describe_vpcs)["Code"] == "AuthFailure"
    assert denied(client(stranger, "emr", emulator).list_clusters)["Code"] == "UnrecognizedClientException"
    assert denied(client(stranger, "s3", emulator).list_buckets)["Code"] == "InvalidAccessKeyId"


def test_a_wrong_secret_is_refused(emulator):
    forger = boto3.Session(aws_access_key_id=identities.ADMIN_ACCESS_KEY_ID,
                           aws_secret_access_key="x" * 40, region_name=REGION)
    assert denied(client(forger, "sts", emulator).get_caller_identity)["Code"] == "SignatureDoesNotMatch"


def unsigned_get_caller_identity(emulator) -> tuple[int, bytes]:
    request = urllib.request.Request(emulator.url + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                                     method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_unsigned_requests_are_refused(emulator):
    # AWS's STS endpoint answers MissingAuthenticationToken. The emulator serves every service on
    # one endpoint and moto learns the service from the signature's scope, so every unsigned
    # request reaches S3, which refuses an anonymous request: refused all the same.
    status, body = unsigned_get_caller_identity(emulator)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert b"GetCallerIdentityResult" not in body


def test_authentication_cannot_be_turned_off(emulator):
    request = urllib.request.Request(f"{emulator.url}/moto-api/reset-auth", data=b"1000000", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert unsigned_get_caller_identity(emulator)[0] == 403


# --- the organization -------------------------------------------------------------------------------


def test_the_administrator_enters_every_enrolled_account_and_no_other(emulator):
    accounts = [A, B, "444444444444"]
    enroll(emulator, *accounts)
    enroll(emulator, *accounts)  # idempotent
    for account in accounts:
        session = entered_session(emulator, RoleCredentials(role_arn=identities.member_access_role_arn(account)), REGION)
        assert client(session, "sts", emulator).get_caller_identity()["Account"] == account
    never_enrolled = identities.member_access_role_arn("555555555555")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        entered_session(emulator, RoleCredentials(role_arn=never_enrolled), REGION)
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    assert raised.value.response["Error"]["Message"] == (
        f"User: {identities.admin_arn()} is not authorized to perform: sts:AssumeRole on resource: {never_enrolled}")


def test_members_are_invited_accounts_of_the_management_accounts_organization(emulator):
    enroll(emulator, A)
    organizations = client(admin_session(), "organizations", emulator)
    members = {a["Id"]: a for page in organizations.get_paginator("list_accounts").paginate() for a in page["Accounts"]}
    assert members[A]["JoinedMethod"] == "INVITED"
    with pytest.raises(organizations.exceptions.HandshakeConstraintViolationException):
        organizations.invite_account_to_organization(Target={"Id": A, "Type": "ACCOUNT"})
    member = client(account_session(emulator, A), "organizations", emulator)
    assert member.describe_organization()["Organization"]["MasterAccountId"] == identities.MANAGEMENT_ACCOUNT_ID
    error = denied(member.invite_account_to_organization, Target={"Id": "666666666666", "Type": "ACCOUNT"})
    assert error["Code"] == "AccessDeniedException"


def test_the_cli_enters_accounts_through_the_role_the_stacks_assume():
    assert identities.MEMBER_ACCESS_ROLE == EMULATOR_ACCESS_ROLE


# --- the policy language, without the emulator ------------------------------------------------------


CALLER = policy.Caller(arn=f"arn:aws:sts::{A}:assumed-role/r/s", account_id=A,
                       identity_arn=f"arn:aws:iam::{A}:role/path/r", kind="role-session")


def decide(statement: dict, action="s3:GetObject", resource="arn:aws:s3:::bucket/key", context=None,
           resource_based=False) -> policy.Result:
    request = policy.Request(action=action, resource=resource, caller=CALLER, context=context or {})
    return policy.evaluate([{"Statement": [statement]}], request, resource_based=resource_based)


def test_actions_match_case_insensitively_and_only_star_and_question_mark_are_wildcards():
    assert decide({"Effect": "Allow", "Action": "S3:getobject", "Resource": "*"}).allowed
    assert decide({"Effect": "Allow", "Action": "s3:Get?bject", "Resource": "*"}).allowed
    assert not decide({"Effect": "Allow", "Action": "s3:Get", "Resource": "*"}).allowed
    # "." is literal in a Resource: arn:aws:s3:::bucketXkey is not arn:aws:s3:::bucket.key
    assert not decide({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket.key"},
                      resource="arn:aws:s3:::bucketXkey").allowed


def test_not_action_and_not_resource_cover_what_they_do_not_name():
    assert decide({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}).explicit_deny
    assert not decide({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}).explicit_deny
    assert decide({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::other/*"}).allowed


def test_an_allow_whose_condition_fails_does_not_apply_and_is_no_deny():
    result = decide({"Effect": "Allow", "Action": "*", "Resource": "*",
                     "Condition": {"StringEquals": {"aws:PrincipalAccount": B}}}, context={"aws:principalaccount": A})
    assert not result.allowed and not result.explicit_deny


def test_a_missing_condition_key_fails_positive_operators_and_passes_negated_ones():
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert not decide({**statement, "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}).allowed
    assert decide({**statement, "Condition": {"StringNotEquals": {"sts:ExternalId": "x"}}}).allowed
    assert decide({**statement, "Condition": {"StringEqualsIfExists": {"sts:ExternalId": "x"}}}).allowed
    assert decide({**statement, "Condition": {"Null": {"sts:ExternalId": "true"}}}).allowed


def test_trust_principals_match_as_aws_matches_them():
    def match(principal):
        return policy.principal_match(principal, CALLER)

    assert match({"AWS": f"arn:aws:iam::{A}:role/path/r"}) is policy.Match.PRINCIPAL  # the role: its sessions
    assert match({"AWS": f"arn:aws:sts::{A}:assumed-role/r/s"}) is policy.Match.PRINCIPAL
    assert match({"AWS": A}) is policy.Match.ACCOUNT
    assert match({"AWS": f"arn:aws:iam::{A}:root"}) is policy.Match.ACCOUNT
    assert match({"AWS": f"arn:aws:iam::{B}:root"}) is policy.Match.NONE
    assert match({"AWS": f"arn:aws:iam::{A}:role/other"}) is policy.Match.NONE
    assert match({"Service": "sagemaker.amazonaws.com"}) is policy.Match.NONE
    assert match("*") is policy.Match.PRINCIPAL


def test_finding_the_account_of_an_access_key_creates_no_iam_backend():
    """emulator/extensions/iam.py: moto's lookup created an IAM backend, with its own copy of AWS's
    managed policies, in each of six partitions of every account it searched; the emulator's
    answers the same without creating any."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import AccessKey, iam_backends
    from moto.utilities.utils import PARTITION_NAMES

    from emulator.extensions import iam as iam_extension

    def holding(account_id: str, partition: str, key_id: str) -> None:
        key = AccessKey("someone", prefix="AKIA", account_id=account_id)
        key.access_key_id = key_id
        iam_backends[account_id][partition].access_keys[key_id] = key

    holding("918273645001", "aws", "AKIAEMULATORTEST0001")
    holding("918273645002", "aws-cn", "AKIAEMULATORTEST0002")
    partitions = {account: set(dict.keys(iam_backends[account])) for account in ("918273645001", "918273645002")}

    assert iam_extension.get_account_id_from("AKIAEMULATORTEST0001") == "918273645001"
    assert iam_extension.get_account_id_from("AKIAEMULATORTEST0002") == "918273645002"
    assert iam_extension.get_account_id_from("AKIAEMULATORUNKNOWN") == DEFAULT_ACCOUNT_ID
    assert {account: set(dict.keys(iam_backends[account])) for account in partitions} == partitions \
        == {"918273645001": {"aws"}, "918273645002": {"aws-cn"}}

    # moto's own lookup answers the same, and creates every partition's backend on the way.
    assert iam_extension._original_get_account_id_from("AKIAEMULATORUNKNOWN") == DEFAULT_ACCOUNT_ID
    assert set(dict.keys(iam_backends["918273645001"])) == set(PARTITION_NAMES)
