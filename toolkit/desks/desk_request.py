"""A desk issue read as a request of a catalog service: its mapped fields and its files, raw, for the catalog's
validation. The intake reads an issue this way when it opens a ticket, and again when the applicant resubmits a
returned request (`toolkit.desks.revisions`): the same reading, so the same validation judges both."""

from __future__ import annotations

import fnmatch
import mimetypes
from collections.abc import Collection
from typing import Any

from pydantic import ValidationError

from toolkit.desks.mapping import DeskMapping
from toolkit.domain.tickets.models import AttachmentUpload
from toolkit.errors import InvalidInputError
from toolkit.ports.desk import DeskClient, DeskIssue


class RequestReader:
    def __init__(self, client: DeskClient, mapping: DeskMapping) -> None:
        self.client, self.mapping = client, mapping

    def fields(self, issue: DeskIssue, service_id: str) -> dict[str, Any]:
        """Catalog field -> the desk's raw value, for the fields the mapping pairs (empty values left out)."""
        pairs = self.mapping.fields.get(service_id, {})
        given = self._form(issue, pairs) | {k: v for k, v in issue.fields.items() if v not in (None, "")}
        return {name: given[desk_field] for desk_field, name in pairs.items() if desk_field in given}

    def _form(self, issue: DeskIssue, pairs: dict[str, str]) -> dict[str, str]:
        """``Field: value`` lines of the description, for the mapped desk fields only (first line wins), when
        the mapping says the desk carries its form there. Values go through the catalog's validation as
        every desk field does."""
        if not self.mapping.form_in_description:
            return {}
        found: dict[str, str] = {}
        for line in issue.description.splitlines():
            label, sep, value = line.partition(":")
            label, value = label.strip(), value.strip()
            if sep and label in pairs and label not in found and value:
                found[label] = value
        return found

    def attachments(self, issue: DeskIssue, service_id: str, skip: Collection[str] = ()) -> list[AttachmentUpload]:
        """The desk's files the mapping names for this service (except the names in ``skip``: those the ticket
        already holds), with their kinds; their content is then checked by the same validation as an upload
        through the CLI (type read from the content)."""
        patterns = self.mapping.attachments.get(service_id, {})
        uploads = []
        for name in issue.attachments:
            kind = next((k for pattern, k in patterns.items() if fnmatch.fnmatchcase(name, pattern)), None)
            if kind is None or name in skip:
                continue
            content = self.client.read_attachment(issue.key, name)
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            try:
                uploads.append(AttachmentUpload(name=name, media_type=media, content=content, kind=kind))
            except ValidationError as exc:
                first = exc.errors()[0]
                raise InvalidInputError(f"attachment {name!r}: {first['msg']}",
                                        errors=[(f"lampiran {name}", str(first["msg"]))]) from None
        return uploads
