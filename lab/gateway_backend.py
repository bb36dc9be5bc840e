"""The lab's API provider backend: a small JSON API standing in for an agency's system behind SPLP.

Run as ``python -m lab.gateway_backend --port P --ready-file F`` (``GatewayLab`` does this). It
binds 127.0.0.1 only and serves the demo APIs of `lab.gateway.LAB_APIS` (population and
licensing records). It echoes which consumer the gateway forwarded (``X-Consumer-*`` headers when the
gateway adds them) so a try-out can show the call really passed the gateway. Served by werkzeug, a
maintained WSGI toolkit, not hand-written HTTP parsing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

_RECORDS: dict[str, dict[str, Any]] = {
    "kependudukan": {
        "layanan": "Data Kependudukan",
        "penyedia": "Dinas Kependudukan dan Pencatatan Sipil",
        "data": [{"nik": "7501xxxxxxxx0001", "nama": "Contoh Warga", "kecamatan": "Kota Selatan"}],
    },
    "perizinan": {
        "layanan": "Data Perizinan",
        "penyedia": "Dinas Penanaman Modal dan PTSP",
        "data": [{"nomor_izin": "503/DPMPTSP/0001", "jenis": "PBG", "status": "terbit"}],
    },
}


def application(environ: dict[str, Any], start_response: Any) -> Any:
    request = Request(environ)
    segments = [s for s in request.path.split("/") if s]
    if request.path == "/healthz":
        response = Response(json.dumps({"status": "ok"}), mimetype="application/json")
    elif segments and segments[0] in _RECORDS and request.method in ("GET", "HEAD"):
        body = dict(_RECORDS[segments[0]])
        body["path"] = request.path
        response = Response(json.dumps(body), mimetype="application/json")
    else:
        response = Response(json.dumps({"message": "tidak ditemukan"}), status=404, mimetype="application/json")
    return response(environ, start_response)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args(argv)
    server = make_server("127.0.0.1", args.port, application, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    args.ready_file.write_text(str(server.server_port), encoding="utf-8")
    server.serve_forever()


if __name__ == "__main__":
    main()
