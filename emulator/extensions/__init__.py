"""Extensions to moto for the calls the AWS provider makes here and moto lacks or gets wrong.

Each module patches moto's response handlers in this process only (no edits to site-packages)
and follows the real API's shapes from botocore's service model."""

from . import access, cloudformation, ec2, emr, iam, sagemaker, servicecatalog


def install() -> None:
    ec2.install()
    iam.install()
    sagemaker.install()
    servicecatalog.install()
    access.install()
    emr.install()
    cloudformation.install()
