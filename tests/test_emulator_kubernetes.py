"""IAM-6 on the emulator, without Terraform: AssumeRoleWithWebIdentity decided by the token's
claims and the role's trust (emulator/extensions/access/web_identity.py; moto alone admits any
token to any role), and the orchestrator's look-ups before synthesis (orchestration/aws/kubernetes.py)."""

from __future__ import annotations

import json
import time

import boto3
import botocore.exceptions
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from config import ConfigError, load_env
from modules.policies import web_identity_trust
from orchestration.aws import kubernetes
from orchestration.aws.accounts import Accounts
from stacks import naming

from tests.emulator_support import account_session, emulator  # noqa: F401 - the fixture

pytestmark = [pytest.mark.emulator]
ACCOUNT = "111111111111"
SUBJECT = "system:serviceaccount:ack-system:ack-sagemaker-controller"


@pytest.fixture(scope="module")
def env():
    return load_env("local")


@pytest.fixture(scope="module")
def accounts(emulator, env):  # noqa: F811
    return Accounts(env, emulator)


@pytest.fixture(scope="module")
def issuer(accounts, env):
    return kubernetes.ensure_emulator_cluster(env, accounts)


@pytest.fixture
def irsa_role(emulator, issuer):  # noqa: F811
    iam = account_session(emulator, ACCOUNT).client("iam", endpoint_url=emulator.url)
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
    trust = web_identity_trust(provider, naming.issuer_host_path(issuer), SUBJECT)
    arn = iam.create_role(RoleName="irsa-test", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    yield arn
    iam.delete_role(RoleName="irsa-test")
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider)


def assume(emulator, role_arn: str, claims: dict):  # noqa: F811
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=emulator.url, config=Config(signature_version=UNSIGNED))
    return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="test",
                                             WebIdentityToken=kubernetes.unsigned_token(claims))


def refusal(emulator, role_arn: str, claims: dict) -> tuple[str, str]:  # noqa: F811
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        assume(emulator, role_arn, claims)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_the_trusted_service_account_gets_the_roles_credentials_unsigned(emulator, irsa_role, issuer):  # noqa: F811
    credentials = assume(emulator, irsa_role, kubernetes.service_account_claims(issuer, SUBJECT))["Credentials"]
    who = boto3.client("sts", region_name="us-east-1", endpoint_url=emulator.url,
                       aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                       aws_session_token=credentials["SessionToken"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/irsa-test/test"


def test_another_service_account_is_refused(emulator, irsa_role, issuer):  # noqa: F811
    for subject in ("system:serviceaccount:ack-system:default", "system:serviceaccount:other:ack-sagemaker-controller"):
        assert refusal(emulator, irsa_role, kubernetes.service_account_claims(issuer, subject)) == \
            ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")


def test_a_token_for_another_audience_is_refused(emulator, irsa_role, issuer):  # noqa: F811
    claims = {**kubernetes.service_account_claims(issuer, SUBJECT), "aud": ["kubernetes.default.svc"]}
    assert refusal(emulator, irsa_role, claims) == ("InvalidIdentityToken", "Incorrect token audience")


def test_a_token_of_an_issuer_without_a_provider_is_refused(emulator, irsa_role):  # noqa: F811
    other = "https://oidc.eks.us-east-1.amazonaws.com/id/NOPROVIDER"
    code, message = refusal(emulator, irsa_role, kubernetes.service_account_claims(other, SUBJECT))
    assert (code, message) == ("InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {other}")


def test_an_expired_token_is_refused(emulator, irsa_role, issuer):  # noqa: F811
    claims = {**kubernetes.service_account_claims(issuer, SUBJECT), "exp": int(time.time()) - 60}
    assert refusal(emulator, irsa_role, claims)[0] == "ExpiredTokenException"


def test_a_role_trusting_only_aws_principals_refuses_every_token(emulator, irsa_role, issuer):  # noqa: F811
    iam = account_session(emulator, ACCOUNT).client("iam", endpoint_url=emulator.url)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                     "Action": "sts:AssumeRoleWithWebIdentity"}]}
    arn = iam.create_role(RoleName="not-federated", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert refusal(emulator, arn, kubernetes.service_account_claims(issuer, SUBJECT))[0] == "AccessDenied"


def test_a_missing_cluster_is_named_with_file_key_and_value(emulator, env):  # noqa: F811
    data = env.model_dump(mode="json")
    data["environment"]["kubernetes"]["cluster_name"] = "no-such-cluster"
    from config.loader import parse

    other = parse(data, "local.yaml")
    with pytest.raises(ConfigError) as caught:
        kubernetes.live_issuer(other, Accounts(other, emulator))
    assert "envs/local.yaml: environment.kubernetes.cluster_name = 'no-such-cluster': no EKS cluster of that name in " \
           "account 111111111111 (us-east-1)" in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_provider_this_project_made_is_kept_any_other_is_reused(emulator, env, accounts, issuer):  # noqa: F811
    assert kubernetes.foreign_oidc_provider(env, accounts) is None, "none yet: the stack creates it"
    iam = account_session(emulator, ACCOUNT).client("iam", endpoint_url=emulator.url)
    ours = [{"Key": "managed-by", "Value": "studio-emr-infra"}, {"Key": "environment", "Value": "local"},
            {"Key": "stack", "Value": "studio-account-kubernetes"}]
    arn = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], Tags=ours)["OpenIDConnectProviderArn"]
    try:
        assert kubernetes.foreign_oidc_provider(env, accounts) is None, "tagged by this stack: still managed by it"
        iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["stack"])
        assert kubernetes.foreign_oidc_provider(env, accounts) == arn, "another's: reused, never adopted"
    finally:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
