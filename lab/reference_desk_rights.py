"""What each account of the reference desk (`lab.reference_desk`) may do, and ``GET /api/v1/saya/hak``.

A home-grown helpdesk usually keeps rights by role; this one grants them per role and answers an account's own
list at ``/api/v1/saya/hak`` (``{"data": {"login", "hak": [...]}}``), which a ``rest`` desk mapping names as
``endpoints.rights`` so `spbe desk check` can say what spbe's account lacks. Writing a note needs
``catatan.tulis``, uploading ``lampiran.tulis`` (both enforced, 403 otherwise); ``status.ubah`` is granted to
the roles that may change a status (the desk's DECIDERS). Tests take a right away with ``desk.rights[login]``.
"""

from __future__ import annotations

ROLE_RIGHTS: dict[str, tuple[str, ...]] = {
    "pemohon": ("tiket.baca", "tiket.buat", "catatan.tulis", "lampiran.tulis"),
    "koordinator": ("tiket.baca", "catatan.tulis", "lampiran.tulis", "status.ubah", "kolom.ubah", "pengguna.baca"),
    "kepala-dinas": ("tiket.baca", "catatan.tulis", "lampiran.tulis", "status.ubah", "pengguna.baca"),
    "bot": ("tiket.baca", "catatan.tulis", "lampiran.tulis", "status.ubah", "pengguna.baca"),
}


def default_rights(users: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, set[str]]:
    """login -> the union of its roles' rights."""
    return {login: {right for role in roles for right in ROLE_RIGHTS.get(role, ())}
            for login, (_, roles) in users.items()}
