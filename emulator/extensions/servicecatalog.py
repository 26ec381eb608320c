"""Service Catalog: what the AWS provider needs for the EMR product Studio lists.

moto 5.2.5 gaps closed here: DescribeProductAsAdmin; provisioning artifacts (created with the
product, listed and described); product-portfolio associations; constraints; principal
associations; tag options and their associations; DescribePortfolio of a deleted portfolio
answering ResourceNotFoundException. Shapes follow botocore's service model.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.servicecatalog.exceptions import InvalidParametersException, ResourceNotFoundException
from moto.servicecatalog.models import ServiceCatalogBackend
from moto.servicecatalog.responses import ServiceCatalogResponse


def _store(backend: ServiceCatalogBackend, name: str) -> Any:
    defaults = {"artifacts": {}, "product_portfolios": set(), "constraints": {}, "principals": set(),
                "tag_options": {}, "tag_option_resources": set()}
    return backend.__dict__.setdefault(f"_ext_{name}", defaults[name])


def _params(self) -> dict:
    return json.loads(self.body or "{}")


def _product(backend: ServiceCatalogBackend, product_id: str):
    product = backend.products.get(product_id)
    if product is None:
        raise ResourceNotFoundException(f"Product {product_id} not found.")
    return product


def _portfolio(backend: ServiceCatalogBackend, portfolio_id: str):
    portfolio = backend.portfolios.get(portfolio_id)
    if portfolio is None:
        raise ResourceNotFoundException(f"Portfolio {portfolio_id} not found.")
    return portfolio


# --- products and provisioning artifacts ---------------------------------------------------


def _new_artifact(product_id: str, parameters: dict) -> dict:
    return {
        "Id": f"pa-{uuid.uuid4().hex[:13]}",
        "ProductId": product_id,
        "Name": parameters.get("Name"),
        "Description": parameters.get("Description") or "",
        "Type": parameters.get("Type", "CLOUD_FORMATION_TEMPLATE"),
        "CreatedTime": utcnow(),
        "Active": True,
        "Guidance": "DEFAULT",
        "SourceRevision": "",
        "_Info": parameters.get("Info") or {},
    }


def create_product(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    product = backend.create_product(
        name=params.get("Name"),
        owner=params.get("Owner"),
        description=params.get("Description"),
        distributor=params.get("Distributor"),
        support_description=params.get("SupportDescription"),
        support_email=params.get("SupportEmail"),
        support_url=params.get("SupportUrl"),
        product_type=params.get("ProductType"),
        tags=params.get("Tags") or [],
        provisioning_artifact_parameters=params.get("ProvisioningArtifactParameters"),
        idempotency_token=params.get("IdempotencyToken"),
        source_connection=params.get("SourceConnection"),
        accept_language=params.get("AcceptLanguage"),
    )
    artifacts = _store(backend, "artifacts").setdefault(product.id, [])
    if not artifacts and params.get("ProvisioningArtifactParameters"):
        artifacts.append(_new_artifact(product.id, params["ProvisioningArtifactParameters"]))
    return ActionResult(
        {
            "ProductViewDetail": _product_view_detail(product),
            "ProvisioningArtifactDetail": _public(artifacts[0]) if artifacts else {},
            "Tags": backend._list_tags_for_resource(product.arn),
        }
    )


def _product_view_detail(product) -> dict:
    return {
        "ProductViewSummary": product.to_dict(),
        "Status": "CREATED",
        "ProductARN": product.arn,
        "CreatedTime": product.created_time,
        "SourceConnection": product.source_connection or None,
    }


def _public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def describe_product_as_admin(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    product = backend.describe_product(accept_language=None, id=params.get("Id"), name=params.get("Name"))
    artifacts = _store(backend, "artifacts").get(product.id, [])
    tag_options = [
        _public(option)
        for option_id, option in _store(backend, "tag_options").items()
        if (option_id, product.id) in _store(backend, "tag_option_resources")
    ]
    return ActionResult(
        {
            "ProductViewDetail": _product_view_detail(product),
            "ProvisioningArtifactSummaries": [
                {k: a[k] for k in ("Id", "Name", "Description", "CreatedTime")} for a in artifacts
            ],
            "Tags": backend._list_tags_for_resource(product.arn),
            "TagOptions": tag_options,
            "Budgets": [],
        }
    )


def describe_product(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    product = backend.describe_product(accept_language=None, id=params.get("Id"), name=params.get("Name"))
    artifacts = _store(backend, "artifacts").get(product.id, [])
    return ActionResult(
        {
            "ProductViewSummary": product.to_dict(),
            "ProvisioningArtifacts": [
                {k: a[k] for k in ("Id", "Name", "Description", "CreatedTime", "Guidance")} for a in artifacts
            ],
            "Budgets": [],
            "LaunchPaths": [
                {"Id": portfolio_id, "Name": backend.portfolios[portfolio_id].display_name}
                for portfolio_id, product_id in sorted(_store(backend, "product_portfolios"))
                if product_id == product.id and portfolio_id in backend.portfolios
            ],
        }
    )


def update_product(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    product = _product(backend, params.get("Id"))
    for param, attribute in (("Name", "name"), ("Owner", "owner"), ("Description", "description"),
                             ("Distributor", "distributor"), ("SupportDescription", "support_description"),
                             ("SupportEmail", "support_email"), ("SupportUrl", "support_url")):
        if param in params:
            setattr(product, attribute, params[param])
    if params.get("AddTags"):
        backend._tag_resource(product.arn, params["AddTags"])
    if params.get("RemoveTags"):
        backend.tagger.untag_resource_using_names(product.arn, params["RemoveTags"])
    return ActionResult({"ProductViewDetail": _product_view_detail(product),
                         "Tags": backend._list_tags_for_resource(product.arn)})


def delete_product(self) -> EmptyResult:
    backend = self.servicecatalog_backend
    product_id = _params(self).get("Id")
    _product(backend, product_id)
    if any(p == product_id for _, p in _store(backend, "product_portfolios")):
        raise InvalidParametersException(f"Product {product_id} is still associated with a portfolio.")
    del backend.products[product_id]
    _store(backend, "artifacts").pop(product_id, None)
    return EmptyResult()


def list_provisioning_artifacts(self) -> ActionResult:
    backend = self.servicecatalog_backend
    product_id = _params(self).get("ProductId")
    _product(backend, product_id)
    artifacts = _store(backend, "artifacts").get(product_id, [])
    keys = ("Id", "Name", "Description", "Type", "CreatedTime", "Active", "Guidance")
    return ActionResult({"ProvisioningArtifactDetails": [{k: a[k] for k in keys} for a in artifacts]})


def describe_provisioning_artifact(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    product_id = params.get("ProductId")
    _product(backend, product_id)
    wanted_id, wanted_name = params.get("ProvisioningArtifactId"), params.get("ProvisioningArtifactName")
    for artifact in _store(backend, "artifacts").get(product_id, []):
        if artifact["Id"] == wanted_id or (wanted_name and artifact["Name"] == wanted_name):
            keys = ("Id", "Name", "Description", "Type", "CreatedTime", "Active", "Guidance")
            return ActionResult({"ProvisioningArtifactDetail": {k: artifact[k] for k in keys},
                                 "Info": artifact["_Info"], "Status": "AVAILABLE"})
    raise ResourceNotFoundException(f"Provisioning artifact {wanted_id or wanted_name} not found.")


# --- portfolios and their associations -----------------------------------------------------


def describe_portfolio(self) -> ActionResult:
    backend = self.servicecatalog_backend
    portfolio = _portfolio(backend, _params(self).get("Id"))
    return ActionResult({"PortfolioDetail": portfolio.to_dict(), "Tags": portfolio.tags or [],
                         "TagOptions": [], "Budgets": []})


def associate_product_with_portfolio(self) -> EmptyResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    _product(backend, params.get("ProductId"))
    _portfolio(backend, params.get("PortfolioId"))
    _store(backend, "product_portfolios").add((params["PortfolioId"], params["ProductId"]))
    return EmptyResult()


def disassociate_product_from_portfolio(self) -> EmptyResult:
    params = _params(self)
    pairs = _store(self.servicecatalog_backend, "product_portfolios")
    pair = (params.get("PortfolioId"), params.get("ProductId"))
    if pair not in pairs:
        raise ResourceNotFoundException(f"Product {pair[1]} is not associated with portfolio {pair[0]}.")
    pairs.discard(pair)
    return EmptyResult()


def list_portfolios_for_product(self) -> ActionResult:
    backend = self.servicecatalog_backend
    product_id = _params(self).get("ProductId")
    _product(backend, product_id)
    details = [backend.portfolios[portfolio_id].to_dict()
               for portfolio_id, p in sorted(_store(backend, "product_portfolios"))
               if p == product_id and portfolio_id in backend.portfolios]
    return ActionResult({"PortfolioDetails": details})


def associate_principal_with_portfolio(self) -> EmptyResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    _portfolio(backend, params.get("PortfolioId"))
    _store(backend, "principals").add((params["PortfolioId"], params["PrincipalARN"], params.get("PrincipalType", "IAM")))
    return EmptyResult()


def disassociate_principal_from_portfolio(self) -> EmptyResult:
    params = _params(self)
    principals = _store(self.servicecatalog_backend, "principals")
    matching = {p for p in principals if p[0] == params.get("PortfolioId") and p[1] == params.get("PrincipalARN")}
    if not matching:
        raise ResourceNotFoundException(f"Principal {params.get('PrincipalARN')} is not associated.")
    principals.difference_update(matching)
    return EmptyResult()


def list_principals_for_portfolio(self) -> ActionResult:
    backend = self.servicecatalog_backend
    portfolio_id = _params(self).get("PortfolioId")
    _portfolio(backend, portfolio_id)
    principals = [{"PrincipalARN": arn, "PrincipalType": kind}
                  for pid, arn, kind in sorted(_store(backend, "principals")) if pid == portfolio_id]
    return ActionResult({"Principals": principals})


# --- constraints -----------------------------------------------------------------------------


def create_constraint(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    _product(backend, params.get("ProductId"))
    _portfolio(backend, params.get("PortfolioId"))
    if (params["PortfolioId"], params["ProductId"]) not in _store(backend, "product_portfolios"):
        raise ResourceNotFoundException("The product is not associated with the portfolio.")
    try:
        json.loads(params.get("Parameters") or "")
    except json.JSONDecodeError:
        raise InvalidParametersException("Parameters must be a JSON document.") from None
    constraint_id = f"cons-{uuid.uuid4().hex[:13]}"
    _store(backend, "constraints")[constraint_id] = {
        "ConstraintId": constraint_id,
        "Type": params.get("Type"),
        "Description": params.get("Description") or "",
        "Owner": backend.account_id,
        "ProductId": params["ProductId"],
        "PortfolioId": params["PortfolioId"],
        "_Parameters": params.get("Parameters"),
    }
    return describe_constraint_by_id(backend, constraint_id)


def describe_constraint_by_id(backend, constraint_id: str) -> ActionResult:
    constraint = _store(backend, "constraints").get(constraint_id)
    if constraint is None:
        raise ResourceNotFoundException(f"Constraint {constraint_id} not found.")
    return ActionResult({"ConstraintDetail": _public(constraint), "ConstraintParameters": constraint["_Parameters"],
                         "Status": "AVAILABLE"})


def describe_constraint(self) -> ActionResult:
    return describe_constraint_by_id(self.servicecatalog_backend, _params(self).get("Id"))


def update_constraint(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    constraint = _store(backend, "constraints").get(params.get("Id"))
    if constraint is None:
        raise ResourceNotFoundException(f"Constraint {params.get('Id')} not found.")
    if "Description" in params:
        constraint["Description"] = params["Description"]
    if "Parameters" in params:
        constraint["_Parameters"] = params["Parameters"]
    return describe_constraint_by_id(backend, constraint["ConstraintId"])


def delete_constraint(self) -> EmptyResult:
    constraints = _store(self.servicecatalog_backend, "constraints")
    constraint_id = _params(self).get("Id")
    if constraints.pop(constraint_id, None) is None:
        raise ResourceNotFoundException(f"Constraint {constraint_id} not found.")
    return EmptyResult()


def list_constraints_for_portfolio(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    _portfolio(backend, params.get("PortfolioId"))
    found = [_public(c) for c in _store(backend, "constraints").values()
             if c["PortfolioId"] == params["PortfolioId"]
             and params.get("ProductId") in (None, c["ProductId"])]
    return ActionResult({"ConstraintDetails": found})


# --- tag options ---------------------------------------------------------------------------


def create_tag_option(self) -> ActionResult:
    params = _params(self)
    option_id = f"tag-{uuid.uuid4().hex[:13]}"
    option = {"Key": params.get("Key"), "Value": params.get("Value"), "Active": True, "Id": option_id,
              "Owner": self.servicecatalog_backend.account_id}
    _store(self.servicecatalog_backend, "tag_options")[option_id] = option
    return ActionResult({"TagOptionDetail": option})


def describe_tag_option(self) -> ActionResult:
    option = _store(self.servicecatalog_backend, "tag_options").get(_params(self).get("Id"))
    if option is None:
        raise ResourceNotFoundException("Tag option not found.")
    return ActionResult({"TagOptionDetail": option})


def delete_tag_option(self) -> EmptyResult:
    option_id = _params(self).get("Id")
    if _store(self.servicecatalog_backend, "tag_options").pop(option_id, None) is None:
        raise ResourceNotFoundException("Tag option not found.")
    return EmptyResult()


def associate_tag_option_with_resource(self) -> EmptyResult:
    params = _params(self)
    _store(self.servicecatalog_backend, "tag_option_resources").add((params.get("TagOptionId"), params.get("ResourceId")))
    return EmptyResult()


def disassociate_tag_option_from_resource(self) -> EmptyResult:
    params = _params(self)
    _store(self.servicecatalog_backend, "tag_option_resources").discard((params.get("TagOptionId"), params.get("ResourceId")))
    return EmptyResult()


def list_resources_for_tag_option(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    details = [{"Id": resource_id} for option_id, resource_id in _store(backend, "tag_option_resources")
               if option_id == params.get("TagOptionId")]
    return ActionResult({"ResourceDetails": details})


HANDLERS = (
    create_product, describe_product_as_admin, describe_product, update_product, delete_product,
    list_provisioning_artifacts, describe_provisioning_artifact, describe_portfolio,
    associate_product_with_portfolio, disassociate_product_from_portfolio, list_portfolios_for_product,
    associate_principal_with_portfolio, disassociate_principal_from_portfolio, list_principals_for_portfolio,
    create_constraint, describe_constraint, update_constraint, delete_constraint, list_constraints_for_portfolio,
    create_tag_option, describe_tag_option, delete_tag_option, associate_tag_option_with_resource,
    disassociate_tag_option_from_resource, list_resources_for_tag_option,
)


def install() -> None:
    for handler in HANDLERS:
        setattr(ServiceCatalogResponse, handler.__name__, handler)
