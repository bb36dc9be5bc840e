"""What the Audit TI tests share: driving a ticket's jobs to a stop, reading its current step, and the two
SSH rules their site profiles are built from."""

from __future__ import annotations

from toolkit.bootstrap import App
from toolkit.engine.progress import progress
from toolkit.engine.worker import work_once


def work_off(app: App, ticket_id: str) -> None:
    """Run the ticket's jobs until none is left to claim (the next step waits for a person, or it is done)."""
    while work_once(app, "w1", ticket_id) is not None:
        pass


def current_step(app: App, ticket_id: str) -> str | None:
    """The step the ticket waits on, as the engine's workflow sees it (None: every step done)."""
    ticket = app.tickets.get(ticket_id)
    state = progress(app.catalog.get(ticket.service_id), ticket, app.tickets.timeline(ticket_id), app.queue,
                     app.policy)
    return state.current.id if state.current else None


def ssh_rules(prefix: str) -> str:
    """The rules ``<prefix>-SSH-01`` (no root login) and ``-02`` (no password login), as profile YAML."""
    return f"""
  - id: {prefix}-SSH-01
    title: "SSH: login root tidak diizinkan"
    rationale: Akun root adalah sasaran utama.
    severity: tinggi
    references: [{{source: CIS Debian Linux Benchmark, item: Ensure sshd PermitRootLogin is disabled}}]
    check: {{type: sshd-option, option: permitrootlogin, allowed: ["no"]}}
    remediation: {{kind: playbook, playbook: compliance/sshd_hardening.yml,
                  undo_playbook: compliance/sshd_hardening_undo.yml}}
  - id: {prefix}-SSH-02
    title: "SSH: login kata sandi dinonaktifkan"
    rationale: Kata sandi dapat ditebak.
    severity: tinggi
    references: [{{source: CIS Debian Linux Benchmark, item: Ensure sshd PasswordAuthentication is disabled}}]
    check: {{type: sshd-option, option: passwordauthentication, allowed: ["no"]}}
    remediation: {{kind: playbook, playbook: compliance/sshd_hardening.yml,
                  undo_playbook: compliance/sshd_hardening_undo.yml}}
"""


SSH_PROFILE = """
id: uji-ssh
title: Uji SSH
description: Profil uji dua aturan SSH.
target: server
rules:""" + ssh_rules("UJI")
