"""`spbe complaint`: complaints, suggestions and feedback (the ``pengaduan`` service; `toolkit.commands.complaints`)."""

from __future__ import annotations

from pathlib import Path

import click

from toolkit.cli.render import emit_json, plain
from toolkit.errors import InvalidInputError

AS_OPTION = click.option("--as", "actor", help="Lab and demo only: act as this username (else the person mapped "
                                               "from your OS account).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
MAX_TEXT_FILE = 64 * 1024


@click.group("complaint")
def complaint_group() -> None:
    """Pengaduan, saran dan masukan: submit, forward, answer, close, the SP4N-LAPOR reply, the mailbox."""


@complaint_group.command("submit")
@AS_OPTION
@click.option("--jenis", help="pengaduan (the default), saran or masukan (the catalog's choices).")
@click.option("--kanal", type=click.Choice(["aplikasi", "sp4n_lapor", "web_ulas", "lapor_mas_wali"]),
              default="aplikasi", show_default=True, help="Other than aplikasi: entered by staff.")
@click.option("--layanan", "layanan_terkait", help="The catalog service the complaint is about.")
@click.option("--tiket", "tiket_terkait", help="The ticket it concerns (one you may see).")
@click.option("--nomor-lapor", help="SP4N-LAPOR tracking number (required with --kanal sp4n_lapor).")
@click.option("--text", "isi", help="The complaint, suggestion or feedback.")
@click.option("--file", "isi_file", type=click.Path(dir_okay=False, path_type=Path), help="Read the text from a file.")
@click.option("--anonim", is_flag=True, help="Hide who sent it (the koordinator sees the complaint, not you).")
@click.option("--nama-pengadu", help="Staff only: the complainant's name (SP4N-LAPOR).")
@click.option("--kontak", "kontak_pengadu", help="An e-mail address for the answer.")
@click.option("--title", help="Subject (default: from the text).")
@click.option("--attach", "-a", "paths", multiple=True, metavar="PATH", help="A supporting file (lampiran).")
@JSON_OPTION
@click.pass_obj
def submit_command(obj, actor, jenis, kanal, layanan_terkait, tiket_terkait, nomor_lapor, isi, isi_file,  # type: ignore[no-untyped-def]
                   anonim, nama_pengadu, kontak_pengadu, title, paths, as_json) -> None:
    """File a complaint, suggestion or feedback."""
    from toolkit.commands import attachment_files
    from toolkit.commands.complaints import submit
    from toolkit.complaints.intake import complaints_service

    text = _text(isi, isi_file)
    spec = complaints_service(obj.app).requirements.field("jenis")
    fields = {"jenis": jenis or (spec.choices or ("",))[0], "kanal": kanal, "layanan_terkait": layanan_terkait,
              "tiket_terkait": tiket_terkait, "nomor_lapor": nomor_lapor, "isi": text, "anonim": anonim,
              "nama_pengadu": nama_pengadu, "kontak_pengadu": kontak_pengadu}
    uploads = [attachment_files.from_path("lampiran", p) for p in paths]
    ticket = submit(obj.app, obj.principal(actor), {k: v for k, v in fields.items() if v not in (None, "")},
                    uploads, title=title)
    if as_json:
        emit_json(obj.console, {"id": ticket.id, "status": ticket.status.value})
    else:
        obj.console.print(f"{plain(ticket.id)}: pengaduan diterima")


def _text(text: str | None, path: Path | None) -> str:
    if (text is None) == (path is None):
        raise InvalidInputError("give exactly one of --text and --file", errors=[("text", "required")])
    if path is None:
        return str(text)
    from toolkit.commands import attachment_files

    upload = attachment_files.from_path("text", str(path), limit=MAX_TEXT_FILE)
    try:
        return upload.content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path.name}: not UTF-8 text", errors=[("file", "encoding")]) from None


@complaint_group.command("forward")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--to", help="The koordinator of the service concerned (default: the first one).")
@click.option("--note", help="A note for the koordinator.")
@click.pass_obj
def forward_command(obj, ticket_id, actor, to, note) -> None:  # type: ignore[no-untyped-def]
    """Forward the complaint to the koordinator of the service concerned (step teruskan)."""
    from toolkit.commands.complaints import forward

    ticket = forward(obj.app, ticket_id, obj.principal(actor), to, note)
    obj.console.print(f"{plain(ticket.id)}: diteruskan kepada {plain(ticket.assignee or '-')}")


@complaint_group.command("answer")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--text", help="The answer.")
@click.option("--file", "text_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the answer from a file.")
@click.pass_obj
def answer_command(obj, ticket_id, actor, text, text_file) -> None:  # type: ignore[no-untyped-def]
    """Answer the complaint (step jawab): the koordinator it was forwarded to."""
    from toolkit.commands.complaints import answer

    ticket = answer(obj.app, ticket_id, obj.principal(actor), _text(text, text_file))
    obj.console.print(f"{plain(ticket.id)}: jawaban dicatat")


@complaint_group.command("close")
@click.argument("ticket_id")
@AS_OPTION
@click.option("--note", help="Closing note.")
@click.pass_obj
def close_command(obj, ticket_id, actor, note) -> None:  # type: ignore[no-untyped-def]
    """Close an answered complaint (step tutup)."""
    from toolkit.commands.complaints import close

    ticket = close(obj.app, ticket_id, obj.principal(actor), note)
    obj.console.print(f"{plain(ticket.id)}: pengaduan ditutup")


@complaint_group.command("reply-text")
@click.argument("ticket_id")
@AS_OPTION
@click.pass_obj
def reply_text_command(obj, ticket_id, actor) -> None:  # type: ignore[no-untyped-def]
    """Print the answer of a SP4N-LAPOR complaint as text to paste back into LAPOR."""
    from toolkit.commands.complaints import reply_text

    click.echo(reply_text(obj.app, ticket_id, obj.principal(actor)), nl=False)


@complaint_group.command("list")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def list_command(obj, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """The complaints you may see, newest first."""
    from toolkit.commands.complaints import list_complaints

    views = list_complaints(obj.app, obj.principal(actor))
    if as_json:
        emit_json(obj.console, views)
        return
    for v in views:
        obj.console.print(" ".join(plain(str(v[k] or "-")) for k in ("id", "status", "jenis", "kanal", "step",
                                                                      "layanan_terkait", "pengadu")))


@complaint_group.command("show")
@click.argument("ticket_id")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def show_command(obj, ticket_id, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """One complaint, as you may see it."""
    from toolkit.commands.complaints import show_complaint

    view = show_complaint(obj.app, ticket_id, obj.principal(actor))
    if as_json:
        emit_json(obj.console, view)
        return
    for key, value in view.items():
        obj.console.print(f"{key}: {plain(str(value if value is not None else '-'))}")


@complaint_group.command("fetch-mail")
@AS_OPTION
@JSON_OPTION
@click.pass_obj
def fetch_mail_command(obj, actor, as_json) -> None:  # type: ignore[no-untyped-def]
    """Read the complaints mailbox once: each new message becomes a complaint ticket (once), or is refused."""
    from toolkit.commands.complaints import fetch_mail

    outcomes = fetch_mail(obj.app, obj.principal(actor))
    if as_json:
        emit_json(obj.console, [o.model_dump(mode="json") for o in outcomes])
        return
    for o in outcomes:
        obj.console.print(f"uid {plain(o.uid)}: {plain(o.result)} {plain(o.ticket_id or o.reason or '')}")
    if not outcomes:
        obj.console.print("tidak ada surel baru")
