"""The portal's words in Bahasa Indonesia, and how it writes times, durations and values.

Kept in one module so the pages, the tests and a translator find them in one place. Times are shown in
the server's local time zone (WIB on the control node) with the zone's name, durations as hours and
minutes, as an applicant reads an SLA.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from toolkit.worktime.calendars import LocalZone

STATUS = {"open": "Baru", "in_progress": "Diproses", "deferred": "Ditunda", "closed": "Ditutup"}
STEP_STATUS = {"done": "Selesai", "current": "Berjalan", "pending": "Menunggu", "skipped": "Dilewati"}
KIND = {"human": "petugas", "approval": "persetujuan", "action": "otomatis", "document": "dokumen otomatis",
        "notify": "pemberitahuan"}
EVENT = {"opened": "Dibuka", "comment": "Komentar", "checked": "Diperiksa", "approved": "Disetujui",
         "deferred": "Ditunda", "step_started": "Langkah dimulai", "step_completed": "Langkah selesai",
         "step_failed": "Langkah gagal", "step_skipped": "Langkah dilewati", "attachment": "Lampiran",
         "assigned": "Ditugaskan", "status": "Status", "notification": "Pemberitahuan", "escalated": "Eskalasi"}
NOTICES = {  # ?ok=<code> after a POST: fixed texts, so nothing a URL carries is echoed into the page
    "dibuka": "Permohonan Anda telah diajukan.",
    "diperiksa": "Kelengkapan dicatat dan permohonan diteruskan untuk persetujuan.",
    "dikembalikan": "Permohonan dikembalikan kepada pemohon dengan catatan.",
    "disetujui": "Permohonan disetujui; langkah berikutnya dijalankan.",
    "ditunda": "Permohonan ditunda dengan alasan tertulis.",
    "tidak-terverifikasi": "Laporan dinyatakan tidak terverifikasi; tiket ditutup dan pelapor diberi tahu.",
    "komentar": "Komentar ditambahkan.",
    "diajukan-ulang": "Permohonan diajukan kembali untuk diperiksa.",
    "langkah-selesai": "Langkah dicatat selesai; langkah berikutnya dijalankan.",
    "ditutup": "Tiket ditutup.",
    "diputuskan": "Keputusan dicatat; alur layanan mengikuti keputusan ini.",
    "ditugaskan": "Tiket diteruskan kepada petugas yang ditunjuk.",
    "dibatalkan": "Permohonan dibatalkan.",
    "ditahan": "Penahanan (containment) diterapkan dan dicatat pada tiket.",
    "dilepas": "Penahanan dilepas; keadaan sebelumnya dipulihkan.",
    "ditandatangani": "Dokumen ditandatangani secara elektronik; versi bertanda tangan dapat diunduh di bawah.",
    "survei": "Terima kasih, survei kepuasan Anda telah tersimpan.",
    "jadwal-diusulkan": "Usulan jadwal pelaksanaan dicatat; pemohon diminta mengonfirmasi.",
    "jadwal-dikonfirmasi": "Jadwal pelaksanaan dikonfirmasi; pemasangan dimulai pada waktu yang disepakati.",
    "jadwal-tidak-berubah": "Jadwal ini sudah dikonfirmasi sebelumnya; tidak ada yang berubah.",
    "jadwal-ditolak": "Permintaan jadwal lain dicatat; tim akan mengusulkan jadwal baru.",
}
LOGIN_REFUSED = "Nama pengguna atau kata sandi salah, atau akun sedang dikunci atau dinonaktifkan."
LOGIN_LOCK_HINT = ("Setelah beberapa kali gagal, akun dikunci sementara demi keamanan. Tunggu sebentar atau "
                   "hubungi koordinator layanan.")
SSO_REFUSED = "Masuk dengan SSO gagal: permintaan tidak sah atau sudah kedaluwarsa. Silakan coba lagi."
SSO_UNKNOWN = "Akun SSO Anda tidak terdaftar sebagai pengguna layanan. Hubungi koordinator layanan."
CSRF_TITLE = "Formulir ditolak"
CSRF_TEXT = "Token keamanan formulir tidak ada atau salah. Muat ulang halaman lalu coba lagi."
TITLE_LOGIN = "Perlu masuk"
TITLE_FORBIDDEN = "Akses ditolak"
TITLE_NOT_FOUND = "Tidak ditemukan"
TITLE_CONFLICT = "Tidak dapat dilakukan sekarang"
TITLE_INVALID = "Isian tidak valid"
TITLE_UNAVAILABLE = "Layanan sementara tidak tersedia"
TITLE_FAILED = "Terjadi kesalahan"
TOO_LARGE = "Unggahan terlalu besar."
# What a refusal means for the person reading the page, by its kind (status); the command's own message (English,
# for the staff who look it up in the logs or the CLI) follows it as "Keterangan teknis".
EXPLAIN = {
    400: "Isian atau permintaan tidak dapat diterima. Periksa kembali isian Anda lalu coba lagi.",
    401: "Sesi Anda telah berakhir atau Anda belum masuk. Silakan masuk kembali.",
    403: "Anda tidak berwenang melakukan tindakan ini pada tiket atau layanan ini.",
    404: "Tiket, dokumen atau halaman yang Anda cari tidak ada, atau tidak dapat Anda lihat.",
    409: "Tindakan ini tidak sesuai dengan tahap tiket saat ini (mungkin sudah dilakukan orang lain). "
         "Muat ulang halaman tiket untuk melihat keadaan terakhir.",
    503: "Sebagian sistem sedang tidak tersedia. Permintaan Anda tidak hilang; silakan coba lagi beberapa saat lagi.",
    500: "Terjadi kesalahan pada sistem. Petugas telah dicatatkan kejadian ini; silakan coba lagi atau hubungi "
         "koordinator layanan.",
}
TECHNICAL = "Keterangan teknis"
SIGN_TITLE = "Penandatanganan tidak berhasil"  # the portal's signing form (routes_signing.py)
SIGN_WRONG_PASSPHRASE = "Frasa sandi salah; dokumen tidak ditandatangani."  # noqa: S105 - a message
SIGN_TRIES_LEFT = "Sisa percobaan sebelum penandatanganan dikunci: {n} kali."
SIGN_LOCKED = ("Penandatanganan atas nama Anda dikunci sementara karena terlalu banyak frasa sandi salah. "
               "Coba lagi setelah 15 menit atau hubungi koordinator layanan.")
SIGN_NOT_ENROLLED = "Anda belum memiliki sertifikat elektronik untuk menandatangani. Hubungi koordinator layanan."
SIGN_EXPIRED = "Sertifikat elektronik Anda sudah kedaluwarsa; perbarui sertifikat sebelum menandatangani."
SIGN_NOT_YOUR_TURN = "Belum giliran Anda menandatangani dokumen ini; pihak sebelumnya harus menandatangani lebih dulu."
SIGN_NOT_A_PARTY = "Anda bukan pihak yang menandatangani dokumen ini."
SIGN_INTEGRITY = ("Versi terakhir dokumen tidak lolos pemeriksaan keutuhan; penandatanganan dihentikan. "
                  "Hubungi koordinator layanan.")
SIGN_CONFLICT = ("Dokumen ini tidak dapat ditandatangani sekarang: sudah Anda tandatangani, sudah lengkap, "
                 "atau tiket ditutup.")
SIGN_INVALID = "Isian penandatanganan tidak valid: isi frasa sandi Anda (paling banyak 512 karakter)."
# The jadwal pelaksanaan's panel and forms (routes_schedule.py).
JADWAL_STATUS = {"proposed": "Menunggu konfirmasi pemohon", "confirmed": "Dikonfirmasi pemohon",
                 "rejected": "Pemohon meminta jadwal lain"}
JADWAL_FORMAT = "Isi tanggal dan jam yang valid, misalnya 10-12-2026 09:00."
JADWAL_INVALID = "Isian jadwal tidak valid; periksa tanggal, jam dan catatan."
JADWAL_NOT_TEAM = ("Jadwal pelaksanaan diusulkan oleh tim pelaksana layanan ini; pemohon mengonfirmasi atau "
                   "meminta jadwal lain.")
JADWAL_NOT_REQUESTER = "Hanya pemohon tiket ini yang dapat mengonfirmasi jadwal atau meminta jadwal lain."
JADWAL_CONFLICT = ("Jadwal tidak dapat diproses sekarang: tiket sudah ditutup atau ditunda, pemasangan sudah "
                   "dimulai, jadwal sudah dijawab, atau waktu mulainya sudah lewat. Muat ulang halaman tiket "
                   "untuk melihat keadaan terbaru.")


def when(value: datetime | None, zone: LocalZone | None = None) -> str:
    """``23-11-2026 10:30 WITA``: in ``zone`` (the deployment's, `toolkit.worktime`) with its label; without
    one, in the server's own zone and its abbreviation."""
    if value is None:
        return "-"
    if zone is not None:
        return zone.format(value, "%d-%m-%Y %H:%M")
    local = value.astimezone()
    return local.strftime("%d-%m-%Y %H:%M ") + (local.tzname() or "")


def duration(delta: timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = ([f"{days} hari"] if days else []) + ([f"{hours} jam"] if hours else []) + [f"{mins} menit"]
    return " ".join(parts[:2]) if days else " ".join(parts)


def remaining(delta: timedelta) -> str:
    """An SLA countdown: "sisa 3 jam 20 menit" or "terlambat 1 hari 2 jam"."""
    return f"sisa {duration(delta)}" if delta >= timedelta(0) else f"terlambat {duration(delta)}"


def display(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    return str(value)
SURVEY_SCORE = "Pilih satu nilai, 1 sampai 4, untuk unsur ini."
SURVEY_INVALID = "Survei belum dapat disimpan; periksa kembali isian Anda."
