"""Supplies: the tenant's product catalogue (``/acme/products/CODE/``) and a study's supply
page (``/acme/demo/supply/``: kit types, the kit list, shipments).

Both are found only by those who manage them: to everyone else they do not exist (404), so the
URL of a kit type (which names an arm) tells a blinded person nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from datacapt.i18n import _
from datacapt.models import Product
from datacapt.permissions import Permission
from datacapt.resources.base import Resource, StudyChild

if TYPE_CHECKING:
    from datacapt.resources.root import TenantResource


class ProductsResource(Resource):
    __name__ = "products"
    view_permission = Permission.MANAGE_PRODUCTS

    def __init__(self, parent: TenantResource) -> None:
        self.__parent__, self.request = parent, parent.request
        self.tenant = parent.tenant

    @property
    def title(self) -> object:
        return _("Products")

    def __getitem__(self, code: str) -> ProductResource:
        product = self.dbsession.scalar(
            select(Product).where(Product.tenant_id == self.tenant.id, Product.code == code)
        )
        if product is None:
            raise KeyError(code)
        return ProductResource(self, product)


class ProductResource(Resource):
    view_permission = Permission.MANAGE_PRODUCTS

    def __init__(self, parent: ProductsResource, product: Product) -> None:
        self.__parent__, self.__name__, self.request = parent, product.code, parent.request
        self.tenant = parent.tenant
        self.product = product

    @property
    def title(self) -> object:
        return self.product.code


class SupplyResource(StudyChild):
    __name__ = "supply"
    view_permission = Permission.MANAGE_SUPPLY

    @property
    def title(self) -> object:
        return _("Supplies")
