"""Service Catalog: what the AWS provider needs for the EMR product Studio lists.

moto 5.2.5 gaps closed here: DescribeProductAsAdmin; SearchProductsAsAdmin (every product of the
account, or of one portfolio, with SearchProducts' filters, sort and pages); provisioning artifacts (created with the
product, listed and described); product-portfolio associations; constraints; principal
associations; tag options and their associations; DescribePortfolio of a deleted portfolio
answering ResourceNotFoundException. Shapes follow botocore's service model.

The end user's journey (Service Catalog Developer Guide, API reference) is reproduced too:

* Access: a principal sees a product only through a portfolio it is associated with
  (AssociatePrincipalWithPortfolio; "you must grant your user, group, or role access to the
  portfolio"). The caller is found from the request's access key: an assumed role
  (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``) matches an association of
  ``arn:aws:iam::<acct>:role/<role>`` (any path), an IAM user its ARN or its groups', and
  IAM_PATTERN associations match with their wildcards. SearchProducts lists only such products
  (Filters FullTextSearch/Owner/ProductType/SourceProductId, SortBy/SortOrder, PageSize and
  PageToken); DescribeProduct, DescribeProvisioningParameters, ListLaunchPaths and
  ProvisionProduct answer ResourceNotFoundException for a product the caller cannot reach.
* CreateProduct reads the provisioning artifact's template from S3 (``Info.LoadTemplateFromURL``,
  virtual-hosted or path-style, in the same account) and keeps a copy, as Service Catalog does;
  an unreadable or unparsable template is refused with InvalidParametersException.
* ProvisionProduct needs a launch path the caller may use (PathId/PathName, required when there
  are several), refuses a provisioned-product name in use, assumes the LAUNCH constraint's role
  (``{"RoleArn": ...}``; a role that does not exist or does not trust
  servicecatalog.amazonaws.com is refused), answers a record in status CREATED, and creates the
  CloudFormation stack ``SC-<account>-<pp-id>`` in the same account from the copied template
  with that role as the stack's RoleARN. Parameters are validated by CloudFormation, not by
  Service Catalog: a value CloudFormation refuses does not fail the call, the record goes
  FAILED and the provisioned product ERROR with CloudFormation's message ("ERROR - ... For
  example, CloudFormation received a parameter value that was not valid and could not launch
  the stack", API reference ProvisionedProductDetail.Status; the AWS provider's acceptance test
  TestAccServiceCatalogProvisionedProduct_errorOnCreate expects "AmazonCloudFormationException
  Unresolved resource dependencies ..." the same way). Otherwise the record follows the stack:
  CREATED -> IN_PROGRESS -> SUCCEEDED (outputs, plus CloudformationStackARN) or FAILED (the
  resource's reason), and the provisioned product UNDER_CHANGE -> AVAILABLE or ERROR.
* TerminateProvisionedProduct deletes the stack; its record (TERMINATE_PROVISIONED_PRODUCT) is
  IN_PROGRESS until the stack is DELETE_COMPLETE, then SUCCEEDED, and the provisioned product is
  gone. DescribeRecord, DescribeProvisionedProduct (Id or Name), ScanProvisionedProducts and
  SearchProvisionedProducts (AccessLevelFilter User, the default, Role or Account) read them.

CreateConstraint refuses a second LAUNCH constraint on the same product in the same portfolio
with DuplicateResourceException (botocore's service model lists the error for the call, and its
Parameters documentation says "You also cannot have more than one LAUNCH constraint on a product
and portfolio"; the message here is the emulator's own). A request repeated with the same
IdempotencyToken answers the constraint the first one created instead, as an idempotency token
promises: the AWS provider makes one token per create and sends it again on every retry of that
create. The same token with other parameters is refused (InvalidParametersException, an error
botocore lists for the call), as EC2's documented idempotency refuses it (IdempotentParameterMismatch);
Service Catalog does not document its own answer to that case. Still kinder than AWS: a LAUNCH and a STACKSET constraint on one product and portfolio
("You cannot have both") are both accepted.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import urllib.parse
import uuid
from typing import Any

from moto.cloudformation.models import Stack

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.servicecatalog.exceptions import InvalidParametersException, ResourceNotFoundException
from moto.servicecatalog.models import ServiceCatalogBackend
from moto.servicecatalog.responses import ServiceCatalogResponse


def _store(backend: ServiceCatalogBackend, name: str) -> Any:
    defaults = {"artifacts": {}, "product_portfolios": set(), "constraints": {}, "principals": set(),
                "tag_options": {}, "tag_option_resources": set(), "records": {}, "provisioned": {}, "tokens": {}}
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
        artifact = _new_artifact(product.id, params["ProvisioningArtifactParameters"])
        try:
            artifact["_Template"] = load_template(backend.account_id, artifact["_Info"])
        except InvalidParametersException:
            del backend.products[product.id]
            raise
        artifacts.append(artifact)
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
        "Status": "AVAILABLE",  # botocore's Status enum: AVAILABLE, CREATING, FAILED
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


class DuplicateResourceException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("DuplicateResourceException", message)


def create_constraint(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    constraints, tokens = _store(backend, "constraints"), _store(backend, "tokens")
    token = params.get("IdempotencyToken")
    if token and tokens.get(("constraint", token)) in constraints:
        first = constraints[tokens[("constraint", token)]]
        if (first["ProductId"], first["PortfolioId"], first["Type"], first["_Parameters"]) != (
                params.get("ProductId"), params.get("PortfolioId"), params.get("Type"), params.get("Parameters")):
            raise InvalidParametersException(f"IdempotencyToken {token} was already used for constraint "
                                             f"{first['ConstraintId']} with other parameters.")
        return describe_constraint_by_id(backend, tokens[("constraint", token)])
    _product(backend, params.get("ProductId"))
    _portfolio(backend, params.get("PortfolioId"))
    if (params["PortfolioId"], params["ProductId"]) not in _store(backend, "product_portfolios"):
        raise ResourceNotFoundException("The product is not associated with the portfolio.")
    try:
        json.loads(params.get("Parameters") or "")
    except json.JSONDecodeError:
        raise InvalidParametersException("Parameters must be a JSON document.") from None
    if params.get("Type") == "LAUNCH" and any(
            c["Type"] == "LAUNCH" for c in _constraints(backend, params["PortfolioId"], params["ProductId"])):
        raise DuplicateResourceException(f"Product {params['ProductId']} already has a LAUNCH constraint "
                                         f"in portfolio {params['PortfolioId']}.")
    constraint_id = f"cons-{uuid.uuid4().hex[:13]}"
    constraints[constraint_id] = {
        "ConstraintId": constraint_id,
        "Type": params.get("Type"),
        "Description": params.get("Description") or "",
        "Owner": backend.account_id,
        "ProductId": params["ProductId"],
        "PortfolioId": params["PortfolioId"],
        "_Parameters": params.get("Parameters"),
    }
    if token:
        tokens[("constraint", token)] = constraint_id
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


# --- the end user's journey: find, launch, watch, terminate ----------------------------------


def _step_seconds() -> float:
    from . import emr

    return emr.step_seconds()


def load_template(account_id: str, info: dict) -> str:
    """The artifact's template from S3 in this account (virtual-hosted or path-style URL)."""
    from moto.s3.models import s3_backends

    url = (info or {}).get("LoadTemplateFromURL") or ""
    match = re.fullmatch(r"https?://([^/]+)/(.+)", url)
    bucket = key = None
    if match:
        host, path = match.group(1).lower(), urllib.parse.unquote(match.group(2).split("?")[0])
        virtual = re.fullmatch(r"(.+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?", host)
        if virtual:
            bucket, key = virtual.group(1), path
        elif re.fullmatch(r"s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?", host) and "/" in path:
            bucket, key = path.split("/", 1)
    if not bucket:
        raise InvalidParametersException(f"Unable to retrieve the template from {url or 'an empty URL'}: "
                                         "LoadTemplateFromURL must be an Amazon S3 object URL.")
    try:
        body = s3_backends[account_id]["aws"].get_object(bucket, key).value.decode()
    except Exception:
        raise InvalidParametersException(f"Unable to retrieve the template from {url}.") from None
    try:
        parsed = Stack.parse_template(body)
    except Exception:
        parsed = None
    if not isinstance(parsed, dict) or "Resources" not in parsed:
        raise InvalidParametersException(f"The template at {url} is not a valid CloudFormation template.")
    return body


def _caller(response) -> dict:
    """The calling principal: its ARN and the principal ARNs associations may name."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    key, account = response.get_access_key(), response.current_account
    for sts in sts_backends[account].values():
        assumed = sts.get_assumed_role_from_access_key(key)
        if assumed is not None:
            role_name = assumed.role_arn.split("/")[-1]
            return {"arn": assumed.arn, "account": account, "kind": "role", "name": role_name,
                    "role_arn": assumed.role_arn, "groups": []}
    iam = iam_backends[account]["aws"]
    user = iam.get_user_from_access_key_id(key)
    if user is not None:
        groups = [g.arn for g in iam.get_groups_for_user(user.name)]
        return {"arn": user.arn, "account": account, "kind": "user", "name": user.name, "role_arn": None,
                "groups": groups}
    return {"arn": f"arn:aws:iam::{account}:root", "account": account, "kind": "root", "name": None,
            "role_arn": None, "groups": []}


def _matches(caller: dict, principal_arn: str, kind: str) -> bool:
    if kind == "IAM_PATTERN":
        candidates = [caller["arn"], *(caller["groups"])]
        if caller["kind"] == "role":
            candidates += [f"arn:aws:iam::{caller['account']}:role/{caller['name']}", caller["role_arn"],
                           f"arn:aws:iam:::role/{caller['name']}"]
        return any(fnmatch.fnmatchcase(c, principal_arn) for c in candidates if c)
    if caller["kind"] == "role":
        found = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)", principal_arn)
        return bool(found) and found.group(1) == caller["account"] and found.group(2) == caller["name"]
    return principal_arn == caller["arn"] or principal_arn in caller["groups"]


def _portfolios_of(backend, caller: dict) -> set[str]:
    return {pid for pid, arn, kind in _store(backend, "principals")
            if pid in backend.portfolios and _matches(caller, arn, kind)}


def _paths(backend, caller: dict, product_id: str) -> list[str]:
    mine = _portfolios_of(backend, caller)
    return sorted(pid for pid, p in _store(backend, "product_portfolios") if p == product_id and pid in mine)


def _reachable_product(backend, caller: dict, product_id: str | None = None, name: str | None = None):
    product = backend.products.get(product_id) if product_id else next(
        (p for p in backend.products.values() if name is not None and p.name == name), None)
    if product is None or not _paths(backend, caller, product.id):
        raise ResourceNotFoundException(f"Product {product_id or name} not found.")
    return product


def _view(backend, caller: dict, product) -> dict:
    view = {k: v for k, v in product.to_dict().items() if v is not None}
    view["HasDefaultPath"] = len(_paths(backend, caller, product.id)) == 1
    return view


def _filter_and_sort(backend, products: list, params: dict) -> list:
    """SearchProducts' and SearchProductsAsAdmin's Filters, SortBy and SortOrder."""
    filters = params.get("Filters") or {}
    for key, values in filters.items():
        if key not in ("FullTextSearch", "Owner", "ProductType", "SourceProductId"):
            raise InvalidParametersException(f"Invalid filter key {key}.")
        wanted = [v.lower() for v in values or []]
        if not wanted:
            continue
        if key == "FullTextSearch":
            def text(p):
                return " ".join(filter(None, (p.name, p.owner, p.description, p.distributor))).lower()
            products = [p for p in products if any(w in text(p) for w in wanted)]
        elif key == "Owner":
            products = [p for p in products if (p.owner or "").lower() in wanted]
        elif key == "ProductType":
            products = [p for p in products if (p.product_type or "").lower() in wanted]
        else:
            products = [p for p in products if p.id.lower() in wanted]
    sort_by = params.get("SortBy") or "Title"
    if sort_by not in ("Title", "VersionCount", "CreationDate"):
        raise InvalidParametersException(f"Invalid SortBy {sort_by}.")
    sort_key = {"Title": lambda p: (p.name or "").lower(), "CreationDate": lambda p: p.created_time,
                "VersionCount": lambda p: len(_store(backend, "artifacts").get(p.id, []))}[sort_by]
    return sorted(products, key=sort_key, reverse=params.get("SortOrder") == "DESCENDING")


def search_products(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    caller = _caller(self)
    mine = _portfolios_of(backend, caller)
    ids = {p for pid, p in _store(backend, "product_portfolios") if pid in mine and p in backend.products}
    products = _filter_and_sort(backend, [backend.products[i] for i in ids], params)
    page, token = _page(products, params.get("PageToken"), params.get("PageSize"), 20)
    result: dict[str, Any] = {"ProductViewSummaries": [_view(backend, caller, p) for p in page]}
    if token:
        result["NextPageToken"] = token
    return ActionResult(result)


def search_products_as_admin(self) -> ActionResult:
    """The administrator's view: every product of the account (or of ``PortfolioId``, which must
    exist), whatever the caller's portfolio associations; same filters, sort and pages."""
    params = _params(self)
    backend = self.servicecatalog_backend
    products = list(backend.products.values())
    if params.get("PortfolioId"):
        _portfolio(backend, params["PortfolioId"])
        ids = {p for pid, p in _store(backend, "product_portfolios") if pid == params["PortfolioId"]}
        products = [p for p in products if p.id in ids]
    products = _filter_and_sort(backend, products, params)
    page, token = _page(products, params.get("PageToken"), params.get("PageSize"), 20)
    result: dict[str, Any] = {"ProductViewDetails": [_product_view_detail(p) for p in page]}
    if token:
        result["NextPageToken"] = token
    return ActionResult(result)


def _page(items: list, token: str | None, size: int | None, default: int) -> tuple[list, str | None]:
    size = int(size or default)
    if size < 0 or size > 100:
        raise InvalidParametersException("PageSize must be between 0 and 100.")
    size = size or default
    try:
        start = int(token or 0)
    except ValueError:
        raise InvalidParametersException("The page token is not valid.") from None
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def describe_product(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    caller = _caller(self)
    product = _reachable_product(backend, caller, params.get("Id"), params.get("Name"))
    artifacts = [a for a in _store(backend, "artifacts").get(product.id, []) if a["Active"]]
    return ActionResult({
        "ProductViewSummary": _view(backend, caller, product),
        "ProvisioningArtifacts": [{k: a[k] for k in ("Id", "Name", "Description", "CreatedTime", "Guidance")}
                                  for a in artifacts],
        "Budgets": [],
        "LaunchPaths": [{"Id": pid, "Name": backend.portfolios[pid].display_name}
                        for pid in _paths(backend, caller, product.id)],
    })


def _constraints(backend, portfolio_id: str, product_id: str) -> list[dict]:
    return [c for c in _store(backend, "constraints").values()
            if c["PortfolioId"] == portfolio_id and c["ProductId"] == product_id]


def list_launch_paths(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    caller = _caller(self)
    product = _reachable_product(backend, caller, params.get("ProductId"))
    summaries = [{"Id": pid, "Name": backend.portfolios[pid].display_name,
                  "ConstraintSummaries": [{"Type": c["Type"], "Description": c["Description"]}
                                          for c in _constraints(backend, pid, product.id)],
                  "Tags": backend.portfolios[pid].tags or []}
                 for pid in _paths(backend, caller, product.id)]
    page, token = _page(summaries, params.get("PageToken"), params.get("PageSize"), 20)
    return ActionResult({"LaunchPathSummaries": page, **({"NextPageToken": token} if token else {})})


def _artifact(backend, product_id: str, artifact_id: str | None, artifact_name: str | None) -> dict:
    artifacts = _store(backend, "artifacts").get(product_id, [])
    if not artifact_id and not artifact_name:
        raise InvalidParametersException("ProvisioningArtifactId or ProvisioningArtifactName is required.")
    for artifact in artifacts:
        if artifact["Id"] == artifact_id or (artifact_name and artifact["Name"] == artifact_name):
            if not artifact["Active"]:
                raise InvalidParametersException(f"Provisioning artifact {artifact['Id']} is not active.")
            return artifact
    raise ResourceNotFoundException(f"Provisioning artifact {artifact_id or artifact_name} not found.")


def _path(backend, caller: dict, product_id: str, path_id: str | None, path_name: str | None) -> str:
    paths = _paths(backend, caller, product_id)
    if path_id or path_name:
        for pid in paths:
            if pid == path_id or (path_name and backend.portfolios[pid].display_name == path_name):
                return pid
        raise ResourceNotFoundException(f"Launch path {path_id or path_name} not found.")
    if len(paths) > 1:
        raise InvalidParametersException("The product has more than one launch path; specify PathId or PathName.")
    return paths[0]


def describe_provisioning_parameters(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    caller = _caller(self)
    product = _reachable_product(backend, caller, params.get("ProductId"), params.get("ProductName"))
    artifact = _artifact(backend, product.id, params.get("ProvisioningArtifactId"), params.get("ProvisioningArtifactName"))
    path = _path(backend, caller, product.id, params.get("PathId"), params.get("PathName"))
    template = Stack.parse_template(artifact["_Template"])
    parameters = []
    for key, slot in (template.get("Parameters") or {}).items():
        constraints = {k: (list(map(str, slot[k])) if k == "AllowedValues" else str(slot[k]))
                       for k in ("AllowedValues", "AllowedPattern", "ConstraintDescription", "MaxLength",
                                 "MinLength", "MaxValue", "MinValue") if k in slot}
        parameter = {"ParameterKey": key, "ParameterType": slot.get("Type", "String"),
                     "IsNoEcho": str(slot.get("NoEcho", False)).lower() == "true",
                     "Description": slot.get("Description", ""), "ParameterConstraints": constraints}
        if "Default" in slot:
            parameter["DefaultValue"] = str(slot["Default"])
        parameters.append(parameter)
    outputs = [{"Key": k, "Description": v.get("Description", "")} for k, v in (template.get("Outputs") or {}).items()]
    return ActionResult({
        "ProvisioningArtifactParameters": parameters,
        "ConstraintSummaries": [{"Type": c["Type"], "Description": c["Description"]}
                                for c in _constraints(backend, path, product.id)],
        "UsageInstructions": [], "TagOptions": [], "ProvisioningArtifactPreferences": {},
        "ProvisioningArtifactOutputKeys": outputs,
    })


def _launch_role(backend, portfolio_id: str, product_id: str) -> str | None:
    from moto.iam.models import iam_backends

    for constraint in _constraints(backend, portfolio_id, product_id):
        if constraint["Type"] != "LAUNCH":
            continue
        settings = json.loads(constraint["_Parameters"] or "{}")
        role_arn = settings.get("RoleArn") or (
            f"arn:aws:iam::{backend.account_id}:role/{settings['LocalRoleName']}" if settings.get("LocalRoleName") else None)
        iam = iam_backends[backend.account_id]["aws"]
        try:
            role = iam.get_role_by_arn(role_arn) if role_arn else None
        except Exception:
            role = None
        if role is None or not _trusts_service_catalog(role):
            raise InvalidParametersException(f"Access denied while assuming the role {role_arn}.")
        return role.arn
    return None


def _trusts_service_catalog(role) -> bool:
    document = role.assume_role_policy_document
    policy = json.loads(urllib.parse.unquote(document)) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        services = (statement.get("Principal") or {}).get("Service", []) if isinstance(statement.get("Principal"), dict) else []
        services = [services] if isinstance(services, str) else services
        if "servicecatalog.amazonaws.com" in services and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            return True
    return False


def _new_record(backend, pp: dict, record_type: str, path_id: str | None, tags: list) -> dict:
    record_id = f"rec-{uuid.uuid4().hex[:13]}"
    now = utcnow()
    record = {"RecordId": record_id, "ProvisionedProductName": pp["Name"], "CreatedTime": now, "UpdatedTime": now,
              "ProvisionedProductType": "CFN_STACK", "RecordType": record_type, "ProvisionedProductId": pp["Id"],
              "ProductId": pp["ProductId"], "ProvisioningArtifactId": pp["ProvisioningArtifactId"],
              "PathId": path_id or pp.get("_PathId"), "RecordTags": tags,
              "_started": time.monotonic(), "_error": None}
    if pp.get("LaunchRoleArn"):
        record["LaunchRoleArn"] = pp["LaunchRoleArn"]
    _store(backend, "records")[record_id] = record
    pp["LastRecordId"] = record_id
    if record_type != "TERMINATE_PROVISIONED_PRODUCT":
        pp["LastProvisioningRecordId"] = record_id
    return record


def _stack_of(backend, pp: dict):
    from moto.cloudformation.models import cloudformation_backends

    stack_id = pp.get("_StackId")
    if not stack_id:
        return None
    cfn = cloudformation_backends[backend.account_id][backend.region_name]
    return cfn.stacks.get(stack_id) or cfn.deleted_stacks.get(stack_id)


def _record_state(backend, record: dict) -> tuple[str, list[dict]]:
    """A record's status follows its stack until it is SUCCEEDED or FAILED, then stays."""
    if record.get("_final"):
        return record["_final"]
    status, errors = _live_record_state(backend, record)
    if status in ("SUCCEEDED", "FAILED"):
        record["_final"] = (status, errors)
    return status, errors


def _live_record_state(backend, record: dict) -> tuple[str, list[dict]]:
    from . import cloudformation

    elapsed = (time.monotonic() - record["_started"]) / max(_step_seconds(), 1e-6)
    pp = _store(backend, "provisioned").get(record["ProvisionedProductId"]) or record.get("_pp")
    if record["_error"]:
        if elapsed < 1:
            return ("CREATED" if elapsed < 0.5 else "IN_PROGRESS"), []
        return "FAILED", [{"Code": "ValidationError", "Description": record["_error"]}]
    stack = _stack_of(backend, pp) if pp else None
    if stack is None:
        return ("IN_PROGRESS" if elapsed < 1 else "SUCCEEDED"), []
    status = stack.status
    if record["RecordType"] == "TERMINATE_PROVISIONED_PRODUCT":
        return ("SUCCEEDED" if status == "DELETE_COMPLETE" else "IN_PROGRESS"), []
    if status == "CREATE_COMPLETE":
        return "SUCCEEDED", []
    if status == "ROLLBACK_COMPLETE":
        reason = cloudformation.failure_reason(stack) or stack.stack_status_reason or status
        return "FAILED", [{"Code": "CloudFormationStackFailure", "Description": f"AmazonCloudFormationException  {reason}"}]
    return ("CREATED" if elapsed < 0.5 else "IN_PROGRESS"), []


def _record_detail(backend, record: dict) -> dict:
    status, errors = _record_state(backend, record)
    if record.get("_last_status") != status:
        record["_last_status"], record["UpdatedTime"] = status, utcnow()
        pp = _store(backend, "provisioned").get(record["ProvisionedProductId"])
        if status == "SUCCEEDED" and pp is not None:
            if record["RecordType"] == "TERMINATE_PROVISIONED_PRODUCT":
                _store(backend, "provisioned").pop(pp["Id"], None)
            else:
                pp["LastSuccessfulProvisioningRecordId"] = record["RecordId"]
    detail = {**_public(record), "Status": status, "RecordErrors": errors}
    return {k: v for k, v in detail.items() if v is not None}


def _record_outputs(backend, record: dict, status: str) -> list[dict]:
    pp = _store(backend, "provisioned").get(record["ProvisionedProductId"]) or record.get("_pp")
    stack = _stack_of(backend, pp) if pp else None
    if status != "SUCCEEDED" or stack is None or record["RecordType"] == "TERMINATE_PROVISIONED_PRODUCT":
        return []
    outputs = [{"OutputKey": o["OutputKey"], "OutputValue": str(o["OutputValue"]),
                **({"Description": o["Description"]} if o.get("Description") else {})} for o in stack.outputs or []]
    return outputs + [{"OutputKey": "CloudformationStackARN", "OutputValue": stack.stack_id}]


def _pp_detail(backend, pp: dict) -> dict:
    last = _store(backend, "records").get(pp["LastRecordId"])
    status, errors = _record_state(backend, last)
    _record_detail(backend, last)
    if status in ("CREATED", "IN_PROGRESS"):
        pp_status, message = "UNDER_CHANGE", None
    elif status == "FAILED":
        pp_status, message = "ERROR", errors[0]["Description"] if errors else None
    else:
        pp_status, message = "AVAILABLE", None
    detail = {**_public(pp), "Status": pp_status}
    if message:
        detail["StatusMessage"] = message
    return {k: v for k, v in detail.items() if v is not None}


def provision_product(self) -> ActionResult:
    from moto.cloudformation.models import cloudformation_backends

    params = _params(self)
    backend = self.servicecatalog_backend
    caller = _caller(self)
    tokens = _store(backend, "tokens")
    token = params.get("ProvisionToken")
    if token and ("provision", token) in tokens:
        return ActionResult({"RecordDetail": _record_detail(backend, _store(backend, "records")[tokens[("provision", token)]])})
    product = _reachable_product(backend, caller, params.get("ProductId"), params.get("ProductName"))
    artifact = _artifact(backend, product.id, params.get("ProvisioningArtifactId"), params.get("ProvisioningArtifactName"))
    path_id = _path(backend, caller, product.id, params.get("PathId"), params.get("PathName"))
    name = params.get("ProvisionedProductName")
    for existing in list(_store(backend, "provisioned").values()):
        _pp_detail(backend, existing)  # a finished termination frees its name
    if any(pp["Name"] == name for pp in _store(backend, "provisioned").values()):
        raise InvalidParametersException(f"A stack named {name} already exists.")
    role_arn = _launch_role(backend, path_id, product.id)
    pp_id = f"pp-{uuid.uuid4().hex[:13]}"
    pp = {"Name": name, "Arn": f"arn:aws:servicecatalog:{backend.region_name}:{backend.account_id}:stack/{name}/{pp_id}",
          "Type": "CFN_STACK", "Id": pp_id, "CreatedTime": utcnow(), "IdempotencyToken": token,
          "ProductId": product.id, "ProvisioningArtifactId": artifact["Id"], "LaunchRoleArn": role_arn,
          "_PathId": path_id, "_UserArn": caller["arn"], "_RoleArn": caller.get("role_arn"),
          "_ProductName": product.name, "_ArtifactName": artifact["Name"], "_Tags": params.get("Tags") or []}
    _store(backend, "provisioned")[pp_id] = pp
    record = _new_record(backend, pp, "PROVISION_PRODUCT", path_id, params.get("Tags") or [])
    record["_pp"] = pp
    if token:
        tokens[("provision", token)] = record["RecordId"]
    portfolio = backend.portfolios[path_id]
    stack_tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
    stack_tags.update({
        "aws:servicecatalog:portfolioArn": portfolio.arn, "aws:servicecatalog:productArn": product.arn,
        "aws:servicecatalog:provisionedProductArn": pp["Arn"],
        "aws:servicecatalog:provisioningArtifactIdentifier": artifact["Id"],
        "aws:servicecatalog:provisioningPrincipalArn": caller["arn"],
    })
    cfn = cloudformation_backends[backend.account_id][backend.region_name]
    try:
        stack = cfn.create_stack(
            name=f"SC-{backend.account_id}-{pp_id}", template=artifact["_Template"],
            parameters={p["Key"]: p.get("Value", "") for p in params.get("ProvisioningParameters") or []},
            notification_arns=params.get("NotificationArns"), tags=stack_tags, role_arn=role_arn,
        )
        pp["_StackId"] = stack.stack_id
    except Exception as exc:  # noqa: BLE001 - CloudFormation's refusal fails the record, not the call
        record["_error"] = f"AmazonCloudFormationException  {getattr(exc, 'message', None) or exc}"
    return ActionResult({"RecordDetail": _record_detail(backend, record)})


def describe_record(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    record = _store(backend, "records").get(params.get("Id"))
    if record is None:
        raise ResourceNotFoundException(f"Record {params.get('Id')} not found.")
    detail = _record_detail(backend, record)
    outputs = _record_outputs(backend, record, detail["Status"])
    page, token = _page(outputs, params.get("PageToken"), params.get("PageSize"), 20)
    return ActionResult({"RecordDetail": detail, "RecordOutputs": page, **({"NextPageToken": token} if token else {})})


def _find_pp(backend, pp_id: str | None, name: str | None) -> dict:
    if bool(pp_id) == bool(name):
        raise InvalidParametersException("Specify either the provisioned product Id or its Name.")
    for pp in list(_store(backend, "provisioned").values()):
        if pp["Id"] == pp_id or (name and pp["Name"] == name):
            _pp_detail(backend, pp)  # a finished termination removes it
            if pp["Id"] in _store(backend, "provisioned"):
                return pp
    raise ResourceNotFoundException(f"Provisioned product {pp_id or name} not found.")


def describe_provisioned_product(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    pp = _find_pp(backend, params.get("Id"), params.get("Name"))
    return ActionResult({"ProvisionedProductDetail": _pp_detail(backend, pp), "CloudWatchDashboards": []})


def terminate_provisioned_product(self) -> ActionResult:
    from moto.cloudformation.models import cloudformation_backends

    params = _params(self)
    backend = self.servicecatalog_backend
    tokens = _store(backend, "tokens")
    token = params.get("TerminateToken")
    if token and ("terminate", token) in tokens:
        return ActionResult({"RecordDetail": _record_detail(backend, _store(backend, "records")[tokens[("terminate", token)]])})
    pp = _find_pp(backend, params.get("ProvisionedProductId"), params.get("ProvisionedProductName"))
    record = _new_record(backend, pp, "TERMINATE_PROVISIONED_PRODUCT", None, [])
    record["_pp"] = pp
    if token:
        tokens[("terminate", token)] = record["RecordId"]
    stack = _stack_of(backend, pp)
    if stack is not None and stack.stack_id in cloudformation_backends[backend.account_id][backend.region_name].stacks:
        cloudformation_backends[backend.account_id][backend.region_name].delete_stack(stack.stack_id)
    return ActionResult({"RecordDetail": _record_detail(backend, record)})


def _visible_pps(backend, caller: dict, access: dict | None) -> list[dict]:
    key = (access or {}).get("Key", "User")
    value = (access or {}).get("Value", "self")
    if key not in ("Account", "Role", "User") or value != "self":
        raise InvalidParametersException("AccessLevelFilter must be Account, Role or User with the value self.")
    found = []
    for pp in list(_store(backend, "provisioned").values()):
        _pp_detail(backend, pp)
        if pp["Id"] not in _store(backend, "provisioned"):
            continue
        if key == "Account" or (key == "User" and pp["_UserArn"] == caller["arn"]) or (
                key == "Role" and caller.get("role_arn") and pp["_RoleArn"] == caller["role_arn"]):
            found.append(pp)
    return sorted(found, key=lambda pp: pp["CreatedTime"])


def scan_provisioned_products(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    pps = _visible_pps(backend, _caller(self), params.get("AccessLevelFilter"))
    page, token = _page(pps, params.get("PageToken"), params.get("PageSize"), 20)
    return ActionResult({"ProvisionedProducts": [_pp_detail(backend, pp) for pp in page],
                         **({"NextPageToken": token} if token else {})})


def search_provisioned_products(self) -> ActionResult:
    params = _params(self)
    backend = self.servicecatalog_backend
    pps = _visible_pps(backend, _caller(self), params.get("AccessLevelFilter"))
    query = [q.lower() for q in (params.get("Filters") or {}).get("SearchQuery", [])]
    attributes = []
    for pp in pps:
        detail = _pp_detail(backend, pp)
        stack = _stack_of(backend, pp)
        attribute = {**detail, "Tags": pp["_Tags"], "ProductName": pp["_ProductName"],
                     "ProvisioningArtifactName": pp["_ArtifactName"], "UserArn": pp["_UserArn"],
                     "UserArnSession": pp["_UserArn"]}
        if stack is not None:
            attribute["PhysicalId"] = stack.stack_id
        if query and not any(q.split(":", 1)[-1] in json.dumps(attribute, default=str).lower() for q in query):
            continue
        attributes.append(attribute)
    page, token = _page(attributes, params.get("PageToken"), params.get("PageSize"), 20)
    return ActionResult({"ProvisionedProducts": page, "TotalResultsCount": len(attributes),
                         **({"NextPageToken": token} if token else {})})


END_USER_HANDLERS = (
    search_products, describe_product, list_launch_paths, describe_provisioning_parameters, provision_product,
    describe_record, describe_provisioned_product, terminate_provisioned_product, scan_provisioned_products,
    search_provisioned_products,
)

HANDLERS = (
    create_product, describe_product_as_admin, search_products_as_admin, *END_USER_HANDLERS, update_product, delete_product,
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
