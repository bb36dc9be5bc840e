"""The Pusat Data product "Layanan Cloud": a server with the vCPU, memory and disk the applicant asked for.

The server is a host of the inventory's ``pusat_data_pool`` whose declared capacity (``spbe_vcpu``,
``spbe_ram_gb``, ``spbe_disk_gb``) covers the request, allocated when the job runs, once per ticket and step
(`toolkit.host_pool`), exactly like the hosting product's; ``playbooks/provision_cloud_vm.yml`` then names it,
records the requested specification on it and reads back what it really has. No web server is installed:
the applicant gets a server, not a hosting.

What is real in the lab (a lab host is a set of namespaces with its own sshd, not a hypervisor guest):
the allocation (capacity-checked where the inventory declares it), the host name, the spec file on the host
and the facts read from it. The vCPU, memory and disk figures are recorded and shown beside what the host
has; they are not enforced (no cgroup, no quota), which the berita acara says.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from toolkit.actions.ansible.pusat_data import (
    AnsiblePlaybookAction,
    HostNeed,
    PlaybookPlan,
    ProvisionServerAction,
    _common,
    _vars_error,
)
from toolkit.actions.ansible.pusat_data_vars import Hostname, _PlaybookVars
from toolkit.actions.base import ActionContext


class CloudVmVars(_PlaybookVars):
    """Variables of ``playbooks/provision_cloud_vm.yml``; the bounds are the catalog's (intake applied them)."""

    hostname: Hostname
    vcpu: int = Field(ge=1, le=64)
    ram_gb: int = Field(ge=1, le=512)
    disk_gb: int = Field(ge=10, le=10000)


class CloudVmPlan(PlaybookPlan):
    action: Literal["ansible.provision_cloud_vm"] = "ansible.provision_cloud_vm"


class ProvisionCloudVmAction(AnsiblePlaybookAction):
    name = "ansible.provision_cloud_vm"
    playbook = "provision_cloud_vm.yml"
    Plan = CloudVmPlan

    def target(self, ctx: ActionContext) -> None:
        return None  # a pool host, allocated when the job runs

    def need(self, ctx: ActionContext) -> HostNeed:
        return ProvisionServerAction().need(ctx)

    def variables(self, ctx: ActionContext, host: str | None) -> dict[str, Any]:
        fields = ctx.ticket.fields
        try:
            model = CloudVmVars.model_validate({**_common(ctx, host), "hostname": fields.get("hostname"),
                                                "vcpu": fields.get("vcpu"), "ram_gb": fields.get("ram_gb"),
                                                "disk_gb": fields.get("disk_gb")})
        except ValidationError as exc:
            raise _vars_error(exc, "provision_cloud_vm vars") from None
        return model.to_extra_vars()
