"""A study's payments: ``payments/`` (the plan and the orders) → ``{number}/`` (one order).

Only the holders of ``MANAGE_PAYMENTS`` see them at all (404 for everyone else); an order is
loaded through its study's id, so another study's order number is not found."""

from __future__ import annotations

from sqlalchemy import select

from datacapt.i18n import _
from datacapt.models import PaymentOrder
from datacapt.permissions import Permission
from datacapt.resources.base import StudyChild


class PaymentsResource(StudyChild):
    __name__ = "payments"
    view_permission = Permission.MANAGE_PAYMENTS

    @property
    def title(self) -> object:
        return _("Payments")

    def __getitem__(self, key: str) -> PaymentOrderResource:
        if not (key.isascii() and key.isdigit()) or len(key) > 9:
            raise KeyError(key)
        order = self.dbsession.scalar(
            select(PaymentOrder).where(
                PaymentOrder.study_id == self.study.id, PaymentOrder.number == int(key)
            )
        )
        if order is None:
            raise KeyError(key)
        return PaymentOrderResource(self, order)


class PaymentOrderResource(StudyChild):
    view_permission = Permission.MANAGE_PAYMENTS

    def __init__(self, parent: PaymentsResource, order: PaymentOrder) -> None:
        super().__init__(parent)
        self.order = order
        self.__name__ = str(order.number)

    @property
    def title(self) -> object:
        return _("Payment order ${number}", mapping={"number": self.order.number})
