"""The `spbe` command: parse, call the core, render. Nothing else lives here.

This is the one place where toolkit errors become exit codes (each error class knows its own) and
where secrets are masked on the way to the terminal.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import click

from toolkit.cli.plugins import PluginGroup
from toolkit.cli.principal import cli_principal, os_account
from toolkit.cli.render import make_console, plain
from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import ConfigurationError, PermissionDeniedError, ToolkitError
from toolkit.observability.logs import configure_logging, effective_level
from toolkit.private_files import owner_only_umask
from toolkit.settings import load_settings

if TYPE_CHECKING:
    from toolkit.bootstrap import App
    from toolkit.cli.desk_client import Desk
    from toolkit.cli.remote_desk import RemoteDesk

_UNSET = object()


class CliContext:
    """Settings and the lazily built app; heavy adapters load only when a command needs them. Also where
    the desk is chosen, once: the server of ``spbe login`` (or ``--server``/``SPBE_SERVER``), else here."""

    def __init__(self, overrides: dict[str, Any], config_file: str | None = None, verbose: int = 0,
                 server: str | None = None) -> None:
        self._overrides = overrides
        self._config_file = config_file
        self._verbose = verbose
        self._server = server
        self._remote: Any = _UNSET
        self._default_log_level = logging.WARNING
        self._app: App | None = None
        self.console = make_console(soft_wrap=True)
        self.err = make_console(stderr=True)

    @property
    def settings(self) -> Any:
        return self.app.settings

    def principal(self, as_user: str | None) -> Principal:
        """Who acts: the OS account's person, or ``--as`` in a lab (see `toolkit.cli.principal`)."""
        app = self.app
        return cli_principal(app.directory, app.settings.deployment, as_user)

    def reader(self, as_user: str | None) -> Principal:
        """For audited reads anyone may do (verifying evidence): the principal if there is one, else the
        bare OS account, so an auditor's shell without a directory entry can still check a bundle."""
        try:
            return self.principal(as_user)
        except PermissionDeniedError:
            if as_user is not None:
                raise
            return Principal(user=os_account(), auth=AuthMethod.OS_USER)

    @property
    def remote(self) -> RemoteDesk | None:
        """The server's desk when this CLI is logged in to one (``spbe login``), else None. ``--server``
        (or ``SPBE_SERVER``) insists on a server: without a login to exactly it, nothing runs locally by
        mistake (exit 8). A credentials file that is a link or readable by others is refused (exit 8)."""
        if self._remote is _UNSET:
            from toolkit.cli import remote
            from toolkit.cli.remote_desk import RemoteDesk

            creds = remote.load()
            if self._server is not None:
                wanted = remote.check_server(self._server)
                if creds is None or creds.server != wanted:
                    raise ConfigurationError(f"not logged in to {wanted}: run 'spbe login --server {wanted}'")
            self._remote = RemoteDesk(remote.RemoteClient(creds)) if creds is not None else None
        return self._remote  # type: ignore[no-any-return]

    def desk(self, as_user: str | None) -> Desk:
        """Where the ticket, job and secret commands go (`toolkit.cli.desk_client`). On a server the token
        is the identity, so ``--as`` is refused there, before anything is sent."""
        from toolkit.cli.desk_client import LocalDesk

        server = self.remote
        if server is None:
            return LocalDesk(self.app, lambda: self.principal(as_user))
        if as_user is not None:
            raise PermissionDeniedError(f"--as is not honoured against {server.server}: the stored token is the "
                                        "identity ('spbe logout', then log in with that person's token)",
                                        user=as_user)
        return server

    @property
    def app(self) -> App:
        if self._app is None:
            from toolkit.bootstrap import App  # the composition root, loaded by the first command that needs it

            self._app = App(load_settings(self._config_file, **self._overrides))
            self._configure_logging()
        return self._app

    def close(self) -> None:
        """When the command ends: the app's stores are closed rather than left to the garbage collector."""
        if self._app is not None:
            self._app.close()
        if self._remote is not _UNSET and self._remote is not None:
            self._remote.close()

    def override(self, **values: Any) -> None:
        """A command's own option that is a setting (``serve --metrics``): set before the app loads,
        so it takes the CLI's place in the settings' precedence and is validated like the rest."""
        if self._app is not None:
            raise RuntimeError("settings are already loaded")
        self._overrides.update(values)

    def daemon_logging(self) -> None:
        """A long-running command reports what it does (job start and end) unless told otherwise:
        INFO rather than WARNING when neither the settings nor the options name a level."""
        self._default_log_level = logging.INFO
        if self._app is not None:
            self._configure_logging()

    def _configure_logging(self) -> None:
        """Now that the settings are known: their format and level, and the app's masker on every record."""
        assert self._app is not None
        cfg = self._app.settings.logging
        configure_logging(cfg.format, effective_level(cfg.level, self._verbose, self._default_log_level),
                          self._app.masker)


class SpbeGroup(PluginGroup):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ToolkitError as exc:
            obj = ctx.obj if isinstance(ctx.obj, CliContext) else None
            masked = obj.app.masker(str(exc)) if obj and obj._app else str(exc)
            if ctx.params.get("json_errors"):
                click.echo(json.dumps({"error": type(exc).__name__, "message": masked,
                                       "exit_code": exc.exit_code}), err=True)
            else:
                make_console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {plain(masked)}")
            ctx.exit(exc.exit_code)


@click.group(cls=SpbeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--state-dir", type=click.Path(file_okay=False), help="Override settings.state_dir.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="TOML settings file (else $SPBE_CONFIG).")
@click.option("--json-errors", is_flag=True, help="Print errors as JSON on stderr.")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (each -v one level lower).")
@click.option("--log-format", type=click.Choice(["human", "json"]),
              help="Log records on stderr as readable lines or JSON lines (else settings.logging.format).")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="Lowest level logged (else settings.logging.level; default WARNING, INFO for serve).")
@click.option("--server", envvar="SPBE_SERVER", metavar="URL",
              help="Run the ticket, job and secret commands on this spbe server (its HTTP API), with the token "
                   "'spbe login --server URL' stored; without the option the stored login alone decides.")
@click.version_option(package_name="spbe")
@click.pass_context
def cli(ctx: click.Context, state_dir: str | None, config_file: str | None, json_errors: bool, verbose: int,
        log_format: str | None, log_level: str | None, server: str | None) -> None:
    """spbe: the SPBE service desk's automation toolkit (tickets drive Ansible, network and gateway work)."""
    log_level = log_level.upper() if log_level else None
    # Until the settings load (lazily, with the app), the options alone decide.
    configure_logging(log_format or "human", effective_level(log_level, verbose))
    overrides: dict[str, Any] = {}
    if state_dir:
        overrides["state_dir"] = state_dir
    chosen = {"format": log_format, "level": log_level}
    if any(chosen.values()):
        overrides["logging"] = {key: value for key, value in chosen.items() if value}
    ctx.obj = CliContext(overrides, config_file, verbose, server or None)
    ctx.call_on_close(ctx.obj.close)
    owner_only_umask(ctx)


# Every command by name, imported when it is used (`toolkit.cli.lazy`): `spbe ticket show` does not pay
# for netmiko, paramiko or matplotlib.
COMMANDS = {
    "catalog": "toolkit.cli.catalog_cmd:catalog_group",
    "ticket": "toolkit.cli.ticket_cmd:ticket_group",
    "desk": "toolkit.cli.desk_cmd:desk_group",
    "jobs": "toolkit.cli.engine_cmd:jobs_group",
    "run": "toolkit.cli.engine_cmd:run_command",
    "serve": "toolkit.cli.engine_cmd:serve_command",
    "config": "toolkit.cli.config_cmd:config_group",
    "audit": "toolkit.cli.audit_cmd:audit_group",
    "network": "toolkit.cli.network_cmd:network_group",
    "contain": "toolkit.cli.containment_cmd:contain_group",
    "release": "toolkit.cli.containment_cmd:release_group",
    "evidence": "toolkit.cli.evidence_cmd:evidence_group",
    "escalate": "toolkit.cli.incident_cmd:escalate_command",
    "incident": "toolkit.cli.incident_cmd:incident_group",
    "complaint": "toolkit.cli.complaint_cmd:complaint_group",
    "secret": "toolkit.cli.secret_cmd:secret_group",
    "api": "toolkit.cli.api_cmd:api_group",
    "user": "toolkit.cli.user_cmd:user_group",
    "token": "toolkit.cli.token_cmd:token_group",
    "compliance": "toolkit.cli.compliance_cmd:compliance_group",
    "api-server": "toolkit.cli.web_cmd:api_server_command",
    "login": "toolkit.cli.remote_cmd:login_command",
    "logout": "toolkit.cli.remote_cmd:logout_command",
    "document": "toolkit.cli.document_cmd:document_group",
    "sign": "toolkit.cli.sign_cmd:sign_group",
    "survey": "toolkit.cli.survey_cmd:survey_group",
    "store": "toolkit.cli.store_cmd:store_group",
}
cli.lazy_subcommands.update(COMMANDS)

if __name__ == "__main__":  # pragma: no cover
    cli()
