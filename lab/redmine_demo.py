"""A standing lab Redmine for the demo: ``python -m lab.redmine_demo up DIR OUT`` / ``down DIR``.

``up`` starts a provisioned private Redmine in DIR (www-data's, so not inside the demo's 0700 state folder) and
leaves it running; into OUT (the demo's own folder) it writes the desk mapping ``desks/redmine.yml`` pointed at
it, each person's API key as ``redmine-keys/<login>`` (0600, never printed) and ``redmine.json`` (the address and
ids, no key). ``down`` stops every process of DIR and removes it. The desk mapping is the lab's
(`lab/desks/redmine.yml`) with the instance's address and a short poll interval, so the demo does not wait.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import yaml

from lab.procs import sweep
from lab.redmine import RedmineServer

LAB_MAPPING = Path(__file__).resolve().parent / "desks" / "redmine.yml"


def up(folder: Path, out: Path, poll_interval_s: float = 3.0) -> dict[str, object]:
    down(folder)
    handle = RedmineServer(folder).start()
    mapping = yaml.safe_load(LAB_MAPPING.read_text(encoding="utf-8"))
    mapping["options"] = {"base_url": handle.base_url, "api_key_secret": "desk-redmine"}
    mapping["poll_interval_s"] = poll_interval_s
    (out / "desks").mkdir(parents=True, exist_ok=True)
    (out / "desks" / "redmine.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    keys = out / "redmine-keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    for login, user in handle.users.items():
        path = keys / login
        path.touch(mode=0o600)
        path.write_text(user.api_key + "\n", encoding="utf-8")
    info: dict[str, object] = {"base_url": handle.base_url, "project_id": handle.project_id,
                               "custom_fields": dict(handle.custom_fields), "statuses": dict(handle.statuses),
                               "trackers": dict(handle.trackers)}
    (out / "redmine.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info


def down(folder: Path) -> list[str]:
    stopped = sweep(str(folder.resolve()) + "/")
    shutil.rmtree(folder, ignore_errors=True)
    return stopped


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "up":
        info = up(Path(argv[1]), Path(argv[2]))
        print(f"Redmine is up at {info['base_url']} (project spbe-uji)")
        return 0
    if len(argv) == 2 and argv[0] == "down":
        for line in down(Path(argv[1])):
            print(line)
        return 0
    print("usage: python -m lab.redmine_demo up DIR OUT | down DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
