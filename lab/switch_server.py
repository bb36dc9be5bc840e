"""The lab's Cisco IOS switches: one process serving N fake-switches cores over SSH on loopback.

Run as ``python -m lab.switch_server --config FILE`` (``SwitchLab`` does this); the config is a
``SwitchServerConfig``. Our own launcher instead of fake-switches' stock one, because on Python 3.11 with
a current Twisted the stock launcher cannot serve netmiko:

* the enable password reaches the switch core as ``bytes`` and never equals the typed ``str``, so
  ``enable`` is always denied: the core gets ``str``, only Twisted's password checker gets ``bytes``;
* the Cisco config mode has no ``end`` (netmiko's ``send_config_set`` leaves config mode with it);
* named ACLs (``ip access-list extended``, ``show ip access-lists``), IOS interface-name matching and
  ``% Invalid input`` for forms the stock model ignored: see ``lab.ios_shims``;
* an empty line is accepted as the enable password, and an unknown command answers ``No such command``
  where IOS answers ``% Invalid input detected``: both behave as on IOS here, so tests of wrong secrets and
  refused commands mean something;
* the stock SSH host key is a fixed RSA key published in the package; each lab has its own.

State is in memory only: a restart gives factory-fresh switches. fake_switches and Twisted are imported
only in this module (no type stubs for fake_switches), so the rest of the toolkit imports without them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from fake_switches.cisco.cisco_core import Cisco2960_24TT_L_SwitchCore, CiscoShellSession
from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor
from fake_switches.cisco.command_processor.default import DefaultCommandProcessor
from fake_switches.cisco.command_processor.piping import PipingProcessor
from fake_switches.switch_configuration import Port
from fake_switches.terminal import LoggingTerminalController
from twisted.conch.ssh import factory, keys, transport
from twisted.cred import checkers, portal
from twisted.internet import error as twisted_error
from twisted.internet import reactor as _reactor

from lab.ios_shims import (
    IosConfigCommandProcessor,
    IosEnabledCommandProcessor,
    IosInterfaceCommandProcessor,
    IosSwitchConfiguration,
)
from lab.ios_ssh import LabRealm, SessionEvents
from lab.models import SwitchServerConfig, SwitchSpec

log = logging.getLogger("spbe.lab.switches")
# Twisted's annotations are partial (zope interfaces, untyped key loading) and fake_switches has none, so
# objects from either are handled as Any here instead of with per-line ignores that differ by version.
_KeyClass: Any = keys.Key


class _StrictEnable(DefaultCommandProcessor):  # type: ignore[misc]
    """The stock processor lets an empty line through as the enable password; IOS with a secret does not."""

    def continue_enabling(self, line: str) -> None:
        self.replace_input = False
        if line in self.switch_configuration.privileged_passwords:
            self.move_to(self.enabled_processor)
        else:
            self.write_line("% Access denied")
            self.write_line("")


class _IosShellSession(CiscoShellSession):  # type: ignore[misc]
    """IOS's answer to an unknown command, which netmiko's error patterns and our tests look for."""

    def handle_unknown_command(self, line: str) -> None:
        prompt = self.command_processor.get_prompt() or ""
        self.command_processor.terminal_controller.write(
            " " * len(prompt) + "^\n% Invalid input detected at '^' marker.\n\n"
        )


class _LazyLoggingTerminal(LoggingTerminalController):  # type: ignore[misc]
    """fake-switches' controller logs every write at DEBUG, formatting ``repr(text)`` even when DEBUG is off
    (the server logs at WARNING); here the text is only formatted when the record is emitted."""

    def write(self, text: str) -> Any:
        self.logger.debug("replying: %r", text)
        return self.terminal_controller.write(text)


class LabCiscoCore(Cisco2960_24TT_L_SwitchCore):  # type: ignore[misc]
    """A Catalyst 2960-24TT-L (Fa0/1-24, Gi0/1-2, VLAN 1) with the shims above."""

    def new_command_processor(self) -> Any:
        # `end` from any config sub-mode: a sub-mode does not know it, falls back to global config, which ends.
        return IosEnabledCommandProcessor(
            config=IosConfigCommandProcessor(
                config_vlan=ConfigVlanCommandProcessor(),
                config_vrf=ConfigVRFCommandProcessor(),
                config_interface=IosInterfaceCommandProcessor(),
            )
        )

    def launch(self, protocol: str, terminal_controller: Any) -> Any:
        # As the stock BaseCiscoSwitchCore.launch, with our enable and unknown-command classes, and one logger
        # per switch: the stock one made a logger per connection, which the logging module keeps for good.
        self.last_connection_id += 1
        self.logger = logging.getLogger(f"fake_switches.cisco.{self.switch_configuration.name}")
        processor = _StrictEnable(self.new_command_processor())
        processor.init(
            self.switch_configuration,
            _LazyLoggingTerminal(self.logger, terminal_controller),
            self.logger,
            PipingProcessor(self.logger),
        )
        return _IosShellSession(processor)


_ServerTransport: Any = transport.SSHServerTransport


class _NoDelayTransport(_ServerTransport):  # type: ignore[misc]
    """Small SSH packets leave at once (TCP_NODELAY), as a switch's management plane sends them; with Nagle's
    algorithm each one waited for the client's delayed ACK (~40 ms) several times per session."""

    def connectionMade(self) -> None:  # noqa: N802 - Twisted API
        tcp: Any = self.transport
        tcp.setTcpNoDelay(True)
        super().connectionMade()

    def sendDisconnect(self, reason: int, desc: bytes) -> None:  # noqa: N802 - Twisted API
        """Twisted logs why it hangs up at INFO only; a lab switch that drops a client says why in its log."""
        log.warning("disconnecting a client: code %s, %s", reason, desc.decode(errors="replace"))
        super().sendDisconnect(reason, desc)


def build_core(spec: SwitchSpec, host: str, secret: str) -> LabCiscoCore:
    """The switch core gets the enable secret as ``str``: it compares it with the decoded typed line."""
    ports = [Port(name) for name in spec.ports] if spec.ports else LabCiscoCore.get_default_ports()
    configuration = IosSwitchConfiguration(host, name=spec.name, privileged_passwords=[secret], ports=ports)
    return LabCiscoCore(configuration)


def build_factory(core: LabCiscoCore, username: str, password: str, host_key: Any,
                  events: SessionEvents | None = None) -> Any:  # fmt: skip
    """Twisted's checker compares ``bytes`` (what arrives on the wire) with ``bytes``."""
    checker: Any = checkers.InMemoryUsernamePasswordDatabaseDontUse()
    checker.addUser(username.encode(), password.encode())
    realm: Any = LabRealm(core, events)
    ssh_portal: Any = portal.Portal(realm)
    ssh_portal.registerChecker(checker)
    ssh_factory: Any = factory.SSHFactory()
    ssh_factory.protocol = _NoDelayTransport
    ssh_factory.portal = ssh_portal
    ssh_factory.publicKeys = {host_key.sshType(): host_key.public()}
    ssh_factory.privateKeys = {host_key.sshType(): host_key}
    return ssh_factory


def _read_secret(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def serve(config: SwitchServerConfig, sessions_log: Path | None = None) -> int:
    """Listen on every switch's port, then write the ready file; run until SIGTERM (Twisted stops on it).

    All switches share one reactor, one host key and the credential files (read once): 500 switches
    cost one process and ~500 listening sockets, not 500 processes.
    """
    host_key = _KeyClass.fromFile(str(config.host_key))
    reactor: Any = _reactor
    ports: list[int] = []
    events = SessionEvents(str(sessions_log) if sessions_log else None)
    secrets: dict[Path, str] = {}

    def secret(path: Path) -> str:
        if path not in secrets:
            secrets[path] = _read_secret(path)
        return secrets[path]

    for spec in config.switches:
        core = build_core(spec, config.host, secret(spec.secret_file))
        ssh_factory = build_factory(core, spec.username, secret(spec.password_file), host_key, events)
        try:
            reactor.listenTCP(spec.port, ssh_factory, interface=config.host)
        except twisted_error.CannotListenError as exc:
            print(f"switch {spec.name}: cannot listen on {config.host}:{spec.port}: {exc}", file=sys.stderr)
            return 1
        ports.append(spec.port)
    tmp = config.ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "ports": ports}), encoding="utf-8")
    os.replace(tmp, config.ready_file)
    log.warning("serving %d switches on %s ports %s", len(ports), config.host, ports)
    try:
        reactor.run()
    finally:
        config.ready_file.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.switch_server")
    parser.add_argument("--config", type=Path, required=True, help="SwitchServerConfig JSON written by SwitchLab")
    parser.add_argument("--sessions-log", type=Path, help="append one line per SSH session open/close here")
    args = parser.parse_args(argv)
    # WARNING, not INFO: fake_switches logs every line a session types at INFO/DEBUG.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = SwitchServerConfig.model_validate_json(args.config.read_text(encoding="utf-8"))
    return serve(config, args.sessions_log)


if __name__ == "__main__":
    sys.exit(main())
