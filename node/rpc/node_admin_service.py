"""The node's own admin and officer API (``accord.v1.NodeAdminService``).

Its methods come from parts that share nothing but the service: agreements
(:mod:`node.rpc.agreement_admin`), private queries and alerts
(:mod:`node.rpc.query_admin`), and retention: purge now and case holds
(:mod:`node.rpc.retention_admin`). Every method first checks that the caller is this node
itself (:func:`node.rpc.context.require_self`): a peer's certificate gets
PERMISSION_DENIED, whatever it asks.
"""

from __future__ import annotations

from accord.v1 import node_admin_pb2_grpc
from node.exchange.agreements import AgreementDesk
from node.exchange.alerts import AlertWatcher
from node.exchange.asking import QueryDesk
from node.rpc.agreement_admin import AgreementAdminMethods
from node.rpc.query_admin import QueryAdminMethods
from node.rpc.retention_admin import RetentionAdminMethods, RetentionSide
from node.server import ServiceRegistration


class NodeAdminServicer(
    AgreementAdminMethods,
    QueryAdminMethods,
    RetentionAdminMethods,
    node_admin_pb2_grpc.NodeAdminServiceServicer,
):
    """Every part of the admin API on one servicer.

    The parts are mixins without state of their own: they read ``self.agreements``,
    ``self.queries``, ``self.alerts`` and ``self.retention_side``, set here.
    """

    def __init__(
        self,
        *,
        agreements: AgreementDesk,
        queries: QueryDesk,
        alerts: AlertWatcher,
        retention_side: RetentionSide,
    ) -> None:
        self.agreements = agreements
        self.queries = queries
        self.alerts = alerts
        self.retention_side = retention_side


def node_admin_service(servicer: NodeAdminServicer) -> ServiceRegistration:
    return ServiceRegistration(
        "accord.v1.NodeAdminService",
        node_admin_pb2_grpc.add_NodeAdminServiceServicer_to_server,
        servicer,
    )
