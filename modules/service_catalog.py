"""SC-1 to SC-4: the EMR product Studio lists, its portfolio, launch constraint and bucket."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from constructs import Construct

from imports.aws.s3_bucket import S3Bucket
from imports.aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from imports.aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
)
from imports.aws.s3_bucket_versioning import S3BucketVersioningA
from imports.aws.s3_object import S3Object
from imports.aws.servicecatalog_constraint import ServicecatalogConstraint
from imports.aws.servicecatalog_portfolio import ServicecatalogPortfolio
from imports.aws.servicecatalog_principal_portfolio_association import ServicecatalogPrincipalPortfolioAssociation
from imports.aws.servicecatalog_product import ServicecatalogProduct
from imports.aws.servicecatalog_product_portfolio_association import ServicecatalogProductPortfolioAssociation

from .emr_product import STUDIO_VISIBILITY_TAG, EmrTemplateSettings, render_emr_template
from .suppressions import suppress

# The bucket holds the product template and the bootstrap script: a few small objects that
# the deploy rewrites, readable only by the launch role.
BUCKET_SUPPRESSIONS = {
    "CKV_AWS_18": "access logs of a template bucket are not needed; reads come from the launch role only",
    "CKV2_AWS_62": "nothing reacts to object events in a template bucket",
    "CKV2_AWS_61": "two small objects rewritten by each deploy; old versions are the rollback",
    "CKV_AWS_144": "the deploy can recreate every object; replication adds a second region for no gain",
    "CKV_AWS_145": "SSE-S3 (AES256) is enough for a template and a bootstrap script",
}

@dataclass(frozen=True)
class EmrServiceCatalogProps:
    bucket_name: str
    portfolio_name: str
    product_name: str
    account_id: str
    base_template: str
    subnet_ids: list[str]
    primary_security_group_id: str
    managed_primary_security_group_id: str
    managed_core_security_group_id: str
    service_access_security_group_id: str
    instance_types: tuple[str, ...]
    core_node_counts: tuple[int, ...]
    release_label: str
    bootstrap_script: str
    bootstrap_script_name: str
    bootstrap_script_version: str
    launch_role_arn: str


class EmrServiceCatalog(Construct):
    def __init__(self, scope: Construct, id: str, props: EmrServiceCatalogProps):
        super().__init__(scope, id)
        self.bucket = S3Bucket(
            self,
            "bucket",
            bucket=props.bucket_name,
            # The bucket only holds what this construct writes; destroy must leave nothing behind.
            force_destroy=True,
        )
        for check_id, reason in BUCKET_SUPPRESSIONS.items():
            suppress(self.bucket, check_id, reason)
        versioning = S3BucketVersioningA(
            self, "bucket-versioning", bucket=self.bucket.id, versioning_configuration={"status": "Enabled"}
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "bucket-encryption",
            bucket=self.bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default={"sse_algorithm": "AES256"}
                )
            ],
        )
        S3BucketPublicAccessBlock(
            self,
            "bucket-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        bootstrap_key = f"bootstrap/{props.bootstrap_script_version}/{props.bootstrap_script_name}"
        # Objects depend on versioning: deleting a versioned bucket's objects after it otherwise races.
        S3Object(
            self,
            "bootstrap-script",
            bucket=self.bucket.id,
            key=bootstrap_key,
            content=props.bootstrap_script,
            depends_on=[versioning],
        )
        template_body = render_emr_template(
            props.base_template,
            EmrTemplateSettings(
                subnet_ids=props.subnet_ids,
                primary_security_group_id=props.primary_security_group_id,
                managed_primary_security_group_id=props.managed_primary_security_group_id,
                managed_core_security_group_id=props.managed_core_security_group_id,
                service_access_security_group_id=props.service_access_security_group_id,
                instance_types=props.instance_types,
                core_node_counts=props.core_node_counts,
                release_label=props.release_label,
                bootstrap_script_uri=f"s3://{self.bucket.bucket}/{bootstrap_key}",
            ),
        )
        # A digest of everything that shapes the template names its version, so a changed
        # guardrail is a new provisioning artifact rather than a silent rewrite of the old one.
        shaping = [props.base_template, props.instance_types, props.core_node_counts,
                   props.release_label, bootstrap_key]
        version = hashlib.sha256(json.dumps(shaping).encode()).hexdigest()[:12]
        template = S3Object(
            self,
            "product-template",
            bucket=self.bucket.id,
            key=f"templates/emr-cluster-{version}.json",
            content=template_body,
            content_type="application/json",
            depends_on=[versioning],
        )
        self.portfolio = ServicecatalogPortfolio(
            self,
            "portfolio",
            name=props.portfolio_name,
            description="EMR clusters that SageMaker Studio users may launch",
            provider_name="Platform team",
        )
        self.portfolio_id = self.portfolio.id
        self.product = ServicecatalogProduct(
            self,
            "product",
            name=props.product_name,
            owner="Platform team",
            type="CLOUD_FORMATION_TEMPLATE",
            description="EMR cluster with Spark and Livy for SageMaker Studio",
            provisioning_artifact_parameters={
                "name": version,
                "description": "EMR cluster template",
                "type": "CLOUD_FORMATION_TEMPLATE",
                "template_url": f"https://{self.bucket.bucket_regional_domain_name}/{template.key}",
            },
            tags=STUDIO_VISIBILITY_TAG,
        )
        association = ServicecatalogProductPortfolioAssociation(
            self, "product-in-portfolio", portfolio_id=self.portfolio.id, product_id=self.product.id
        )
        ServicecatalogConstraint(
            self,
            "launch-constraint",
            type="LAUNCH",
            portfolio_id=self.portfolio.id,
            product_id=self.product.id,
            parameters=json.dumps({"RoleArn": props.launch_role_arn}),
            description="EMR clusters are launched with the launch-constraint role",
            depends_on=[association],
        )


@dataclass(frozen=True)
class PortfolioAccessProps:
    portfolio_id: str
    principal_arn: str


class PortfolioAccess(Construct):
    """SC-1: the principal Studio searches products as may use the portfolio."""

    def __init__(self, scope: Construct, id: str, props: PortfolioAccessProps):
        super().__init__(scope, id)
        ServicecatalogPrincipalPortfolioAssociation(
            self, "principal", portfolio_id=props.portfolio_id, principal_arn=props.principal_arn, principal_type="IAM"
        )
