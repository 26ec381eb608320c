"""Every list and describe call reads every page: AWS answers a page at a time, and a big account
has more than one (botocore's Stubber answers here, so no emulator and no network)."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest
from botocore.stub import Stubber

from orchestration.aws.accounts import all_pages


def client(service: str):
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def test_provisioned_products_beyond_the_first_page_are_read():
    # botocore declares no paginator for SearchProvisionedProducts; a cluster launched 21st must still be found.
    catalog = client("servicecatalog")
    account = {"AccessLevelFilter": {"Key": "Account", "Value": "self"}}
    with Stubber(catalog) as stub:
        stub.add_response("search_provisioned_products", {"ProvisionedProducts": [{"Id": "pp-1"}], "NextPageToken": "20"},
                          account)
        stub.add_response("search_provisioned_products", {"ProvisionedProducts": [{"Id": "pp-2"}]},
                          {**account, "PageToken": "20"})
        found = all_pages(catalog, "search_provisioned_products", "ProvisionedProducts", **account)
        stub.assert_no_pending_responses()
    assert [pp["Id"] for pp in found] == ["pp-1", "pp-2"]


def test_every_page_carries_the_filters_and_no_page_size_is_added():
    # EC2 refuses MaxResults next to explicit ids; the paginator sends only what the caller gave.
    ec2 = client("ec2")
    filters = [{"Name": "vpc-id", "Values": ["vpc-1"]}]
    with Stubber(ec2) as stub:
        stub.add_response("describe_route_tables", {"RouteTables": [{"RouteTableId": "rtb-1"}], "NextToken": "t"},
                          {"Filters": filters})
        stub.add_response("describe_route_tables", {"RouteTables": [{"RouteTableId": "rtb-2"}]},
                          {"Filters": filters, "NextToken": "t"})
        tables = all_pages(ec2, "describe_route_tables", "RouteTables", Filters=filters)
    assert [t["RouteTableId"] for t in tables] == ["rtb-1", "rtb-2"]


def test_a_call_without_a_paginator_is_refused_rather_than_read_once():
    with pytest.raises(botocore.exceptions.OperationNotPageableError):
        all_pages(client("iam"), "list_open_id_connect_providers", "OpenIDConnectProviderList")
