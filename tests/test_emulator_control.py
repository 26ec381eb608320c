"""Entering a user's Studio on the emulator as on AWS: CreatePresignedDomainUrl (IAM-authorized),
a URL valid once and for a limited time, and an app holding a session of the execution role,
which SageMaker assumes only if the role's trust admits sagemaker.amazonaws.com."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import pytest

from tests.emulator_support import account_session, emulator  # noqa: F401 (fixture)

pytestmark = pytest.mark.emulator
ACCOUNT = "111111111111"


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def open_url(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def sagemaker(emulator):  # noqa: F811
    return account_session(emulator, ACCOUNT).client("sagemaker", endpoint_url=emulator.url)


@pytest.fixture(scope="module")
def domain(emulator, sagemaker):  # noqa: F811
    session = account_session(emulator, ACCOUNT)
    iam = session.client("iam", endpoint_url=emulator.url)
    good = iam.create_role(RoleName="studio-execution", AssumeRolePolicyDocument=trust("sagemaker.amazonaws.com"))["Role"]
    bad = iam.create_role(RoleName="ec2-only", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))["Role"]
    ec2 = session.client("ec2", endpoint_url=emulator.url)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    domain_id = sagemaker.create_domain(DomainName="control-test", AuthMode="IAM", VpcId=vpc, SubnetIds=[subnet],
                                        DefaultUserSettings={"ExecutionRole": good["Arn"]})["DomainId"]
    sagemaker.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    sagemaker.create_user_profile(DomainId=domain_id, UserProfileName="mallory", UserSettings={"ExecutionRole": bad["Arn"]})
    return domain_id


def test_the_presigned_url_opens_an_app_holding_the_execution_roles_session_once(emulator, sagemaker, domain):  # noqa: F811
    url = sagemaker.create_presigned_domain_url(DomainId=domain, UserProfileName="alice")["AuthorizedUrl"]
    status, answer = open_url(url)
    assert status == 200, answer
    credentials = answer["Credentials"]
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=emulator.url,
                       aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                       aws_session_token=credentials["SessionToken"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/studio-execution/SageMaker-alice"
    status, answer = open_url(url)
    assert status == 403 and "Invalid or expired" in answer["message"]


def test_a_role_that_does_not_trust_sagemaker_starts_no_app(sagemaker, domain):
    url = sagemaker.create_presigned_domain_url(DomainId=domain, UserProfileName="mallory")["AuthorizedUrl"]
    status, answer = open_url(url)
    assert status == 403
    assert "sagemaker.amazonaws.com is not authorized to perform: sts:AssumeRole" in answer["message"]


def test_an_unknown_profile_is_not_found_and_a_forged_token_is_refused(emulator, sagemaker, domain):  # noqa: F811
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sagemaker.create_presigned_domain_url(DomainId=domain, UserProfileName="nobody")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    assert open_url(f"{emulator.url}/_emulator/sagemaker/auth?token=forged")[0] == 403


def test_creating_the_url_is_authorized_by_iam(emulator, domain):  # noqa: F811
    """A principal without sagemaker:CreatePresignedDomainUrl gets no way into the app."""
    session = account_session(emulator, ACCOUNT)
    iam = session.client("iam", endpoint_url=emulator.url)
    iam.create_user(UserName="no-studio")
    keys = iam.create_access_key(UserName="no-studio")["AccessKey"]
    outsider = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=emulator.url,
                            aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        outsider.create_presigned_domain_url(DomainId=domain, UserProfileName="alice")
    assert caught.value.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
