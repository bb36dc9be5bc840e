"""The actions this package ships, registered by the name the catalog binds them to."""

from __future__ import annotations

from toolkit.actions.base import ActionRegistry


def register_builtin_actions(registry: ActionRegistry) -> None:
    from toolkit.actions.documents import DocumentAction, TicketNotifyAction
    from toolkit.actions.pusat_data import (
        ConfigureBackupAction,
        InstallMonitoringAction,
        ProvisionServerAction,
    )

    for action in (DocumentAction(), TicketNotifyAction(), ProvisionServerAction(), InstallMonitoringAction(),
                   ConfigureBackupAction()):
        registry.register(action)

    from toolkit.actions.incident import register_incident_actions

    register_incident_actions(registry)

    from toolkit.vpn.action import SiteToSiteVpnAction

    registry.register(SiteToSiteVpnAction())

    from toolkit.containment.actions import InspectAction, IsolateHostAction

    for containment_action in (IsolateHostAction(), InspectAction()):
        registry.register(containment_action)

    from toolkit.actions.jaringan_intra import NetworkAnalyseAction, NetworkInstallAction, NetworkQualityTestAction

    for network_action in (NetworkAnalyseAction(), NetworkInstallAction(), NetworkQualityTestAction()):
        registry.register(network_action)

    from toolkit.actions.splp import IssueEndpointAction, TryOutAction

    for splp_action in (IssueEndpointAction(), TryOutAction()):
        registry.register(splp_action)
