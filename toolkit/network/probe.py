"""``python -m toolkit.network.probe``: run quality probes from the namespace this process is in.

The lab runs it with ``ip netns exec <segment>`` so the probes leave from the new segment itself;
input and output are JSON (a `ProbeRequest` on stdin, a list of `ProbeResult` on stdout), so no
address or port ever becomes part of a command line built from text.
"""

from __future__ import annotations

import sys

from pydantic import BaseModel, ConfigDict, TypeAdapter

from toolkit.network.quality import ProbeResult, ProbeTarget, QualityThresholds, probe_locally


class ProbeRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    targets: tuple[ProbeTarget, ...]
    thresholds: QualityThresholds


RESULTS = TypeAdapter(list[ProbeResult])


def main() -> int:
    request = ProbeRequest.model_validate_json(sys.stdin.read())
    sys.stdout.write(RESULTS.dump_json(probe_locally(request.targets, request.thresholds)).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
