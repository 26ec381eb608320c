"""Sessions per account share parsed service models, never credentials (orchestration/aws/sessions.py)."""

from __future__ import annotations

from botocore.stub import Stubber

from orchestration.aws import sessions


def test_two_accounts_sessions_parse_a_model_once_and_sign_with_their_own_keys():
    studio = sessions.session(aws_access_key_id="AKIASTUDIO", aws_secret_access_key="s1", region_name="us-east-1")
    emr = sessions.session(aws_access_key_id="AKIAEMR", aws_secret_access_key="s2", region_name="eu-west-1")
    studio_ec2, emr_ec2 = studio.client("ec2"), emr.client("ec2")

    # One parsed EC2 model between them (the memory a deploy of several accounts saves)...
    assert studio_ec2.meta.service_model._service_description is emr_ec2.meta.service_model._service_description
    # ...and each its own identity and region.
    assert studio.get_credentials().access_key == "AKIASTUDIO"
    assert emr.get_credentials().access_key == "AKIAEMR"
    assert (studio_ec2.meta.region_name, emr_ec2.meta.region_name) == ("us-east-1", "eu-west-1")
    with Stubber(emr_ec2) as stub:
        stub.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-1"}]})
        assert emr_ec2.describe_vpcs()["Vpcs"][0]["VpcId"] == "vpc-1"


def test_many_sessions_leave_the_shared_loader_as_one_session_leaves_it():
    first = sessions.session(region_name="us-east-1")
    paths = list(first._session.get_component("data_loader").search_paths)
    for _ in range(20):
        sessions.session(region_name="us-east-1")
    assert first._session.get_component("data_loader").search_paths == paths
