"""The actions this package ships, registered by the name the catalog binds them to."""

from __future__ import annotations

from toolkit.actions.base import ActionRegistry


def register_builtin_actions(registry: ActionRegistry) -> None:
    from toolkit.actions.ansible.pusat_data import (
        ConfigureBackupAction,
        InstallMonitoringAction,
        ProvisionServerAction,
    )
    from toolkit.actions.documents.document import DocumentAction, TicketNotifyAction

    for action in (DocumentAction(), TicketNotifyAction(), ProvisionServerAction(), InstallMonitoringAction(),
                   ConfigureBackupAction()):
        registry.register(action)

    from toolkit.actions.incident import register_incident_actions

    register_incident_actions(registry)

    from toolkit.actions.network.vpn import SiteToSiteVpnAction

    registry.register(SiteToSiteVpnAction())

    from toolkit.actions.ansible.cloud import ProvisionCloudVmAction
    from toolkit.actions.colocation.allocate import ColocationAction

    registry.register(ProvisionCloudVmAction())
    registry.register(ColocationAction())

    from toolkit.actions.containment.contain import InspectAction, IsolateHostAction

    for containment_action in (IsolateHostAction(), InspectAction()):
        registry.register(containment_action)

    from toolkit.actions.network.jaringan_intra import (
        NetworkAnalyseAction,
        NetworkInstallAction,
        NetworkQualityTestAction,
    )

    for network_action in (NetworkAnalyseAction(), NetworkInstallAction(), NetworkQualityTestAction()):
        registry.register(network_action)

    from toolkit.actions.gateway.splp import IssueEndpointAction, TryOutAction

    for splp_action in (IssueEndpointAction(), TryOutAction()):
        registry.register(splp_action)

    from toolkit.actions.compliance.audit import IdentifyAction, PlanRemediationAction, RemediateAction, VerifyAction

    for audit_action in (IdentifyAction(), PlanRemediationAction(), RemediateAction(), VerifyAction()):
        registry.register(audit_action)

    from toolkit.signing.enroll_action import EnrollSignerAction

    registry.register(EnrollSignerAction())
