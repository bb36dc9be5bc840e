"""The network plan a ticket's analysis attached, for `spbe network diff|push|verify|rollback --ticket`.

The plan file lies encrypted in the ticket's working directory (`toolkit.at_rest`); the ticket is the way
to it, with the rule every download follows (`toolkit.commands.views.attachment`): the ticket must be
visible to the person asking (else it is as absent as a missing one), and the read is audited. Only the
file spbe itself attached counts: an upload of the same name by a requester is never taken for the plan.
"""

from __future__ import annotations

from pydantic import ValidationError

from toolkit.actions.network.jaringan_models import plan_attachment
from toolkit.commands import views
from toolkit.domain.principal import Principal
from toolkit.engine.services import EngineServices
from toolkit.errors import InvalidInputError
from toolkit.network.inventory import describe_errors
from toolkit.network.plan import NetworkChange


def attached_plan(app: EngineServices, ticket_id: str, principal: Principal) -> NetworkChange:
    """The `NetworkChange` the analysis of ``ticket_id`` attached, validated; `NotFoundError` when the
    ticket is not visible to ``principal`` or has no plan (no analysis yet), `InvalidInputError` when the
    attached file is not a plan."""
    _ref, content = views.attachment(app, ticket_id, plan_attachment(ticket_id), principal, documents_only=True)
    try:
        return NetworkChange.model_validate_json(content)
    except ValidationError as exc:
        problems = describe_errors(exc, "plan")
        raise InvalidInputError(f"the plan attached to {ticket_id} is not valid: "
                                + "; ".join(f"{k}: {m}" for k, m in problems), errors=problems) from None
