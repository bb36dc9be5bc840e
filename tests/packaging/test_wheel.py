"""The wheel is a complete product: ``pip install`` of it, outside the checkout, has the templates,
playbooks, catalog, roles file, SPLP register and network examples it needs, and the CLI works there.

The wheel is built from a copy of the source tree (so the build leaves nothing in the checkout) with
``pip wheel --no-deps``; its build backend comes from PyPI (build isolation), as any user's build would.
It is installed into a fresh virtualenv without its dependencies: those are lent by this test's own
environment through a ``.pth`` line (a folder listed in a ``.pth`` file is added to sys.path, but its own
``.pth`` files, such as this environment's editable install of spbe, are not run), so the product code,
its data and its entry points come from the wheel alone while nothing is downloaded but the backend.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "toolkit", "integrations", "lab", "spbe_data",
           "templates", "playbooks", "inventory")
DATA = ("templates", "playbooks", "inventory")

pytestmark = pytest.mark.slow


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("spbe-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed; returns its ``bin`` folder."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_lent_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # --force-reinstall: the lent folder holds this environment's own (editable) spbe, which pip would
    # otherwise take as already installed and leave the new venv without the wheel's files and script.
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                             "--force-reinstall", "--no-index", "-q", str(wheel)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return venv / "bin"


def _spbe(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(cwd), "SPBE_STATE_DIR": str(cwd / "state"),
           "LANG": "C.UTF-8", "COLUMNS": "200"}  # no PYTHONPATH, no SPBE_CONFIG: nothing from the checkout
    return subprocess.run([str(bin_dir / "spbe"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_wheel_holds_the_data_the_product_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in DATA:  # every file of the top-level data folders, under spbe_data/
        missing = {f"spbe_data/{folder}/{f}" for f in _files(REPO / folder)} - names
        assert not missing, f"not in the wheel: {sorted(missing)[:10]}"
    catalog = REPO / "toolkit" / "domain" / "catalog" / "services"
    services = {f"toolkit/domain/catalog/services/{f}" for f in _files(catalog)}
    assert services and services <= names
    for needed in ("spbe_data/templates/documents/berita_acara_instalasi_server.md.j2",
                   "spbe_data/templates/network/cisco_ios/change.j2", "spbe_data/playbooks/provision_server.yml",
                   "spbe_data/inventory/roles.yml", "spbe_data/inventory/splp_apis.yml",
                   "spbe_data/inventory/cuti_bersama.yml",
                   "spbe_data/inventory/network/example.yml", "toolkit/domain/catalog/services/pusat-data.yaml",
                   "spbe_data/templates/portal/base.html.j2", "toolkit/web/portal/static/portal.css",
                   "toolkit/compliance/profiles/server-dasar.yaml", "toolkit/compliance/profiles/jaringan-intra.yaml",
                   "toolkit/compliance/profiles/splp.yaml", "spbe_data/playbooks/compliance/sshd_hardening_undo.yml",
                   "spbe_data/templates/reports/laporan_kepatuhan.html.j2",
                   "spbe_data/templates/documents/laporan_audit_ti.md.j2",
                   "toolkit/web/portal/static/portal.js"):
        assert needed in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_declares_the_lab_only_as_a_plugin(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    (entry_points,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "[spbe.cli_plugins]\nlab = lab.cli:lab_group" in text
    assert "[spbe.segment_probers]\nlab = lab.segment_prober:LabSegmentProber" in text
    assert "spbe = toolkit.cli.main:cli" in text


def test_installed_cli_works_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = _spbe(installed, tmp_path, "--version")
    assert where.returncode == 0, where.stderr
    python = installed / "python"
    origin = subprocess.run([str(python), "-c", "import spbe_data, toolkit; print(toolkit.__file__); "
                             "print(spbe_data.folder('templates'))"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin"}, check=True).stdout.split()
    assert all(not p.startswith(str(REPO)) and p.startswith(str(installed.parent)) for p in origin), origin

    profiles = subprocess.run([str(python), "-c", "from toolkit.compliance.loader import load_profiles; "
                               "print(' '.join(sorted(load_profiles())))"], cwd=tmp_path, capture_output=True,
                              text=True, env={"PATH": "/usr/bin:/bin"}, check=True).stdout.split()
    assert profiles == ["jaringan-intra", "server-dasar", "splp"]  # the packaged profiles, read from the wheel

    listed = _spbe(installed, tmp_path, "catalog", "list")
    assert listed.returncode == 0, listed.stderr
    assert "pusat-data" in listed.stdout and "jaringan-intra" in listed.stdout

    shown = _spbe(installed, tmp_path, "config", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    site = str(installed.parent)
    for key in ("templates_dir", "playbooks_dir", "roles_file", "splp_register"):
        assert settings[key].startswith(site) and Path(settings[key]).exists(), (key, settings[key])
    assert settings["inventory"] is None and settings["network"]["inventory"] is None  # no lab default
    assert settings["network"]["prober"] is None and settings["gateway"]["options"] == {}


def test_the_product_cli_works_without_the_lab(installed: Path, tmp_path: Path) -> None:
    """A production host installs no lab: `spbe` still works, and `spbe lab` is simply not there."""
    site = Path(subprocess.run([str(installed / "python"), "-c", "import lab; print(lab.__file__)"],
                               capture_output=True, text=True, check=True, cwd=tmp_path,
                               env={"PATH": "/usr/bin:/bin"}).stdout.strip()).parent
    assert "\n  lab " in _spbe(installed, tmp_path, "--help").stdout  # there while installed
    hidden = site.with_name("lab.hidden")
    os.rename(site, hidden)
    try:
        helped = _spbe(installed, tmp_path, "--help")
        assert helped.returncode == 0, helped.stderr
        assert "catalog" in helped.stdout and "\n  lab " not in helped.stdout and "lab" not in helped.stderr
        assert _spbe(installed, tmp_path, "catalog", "list").returncode == 0
        missing = _spbe(installed, tmp_path, "lab", "status")
        assert missing.returncode == 2 and "No such command 'lab'" in missing.stderr
    finally:
        os.rename(hidden, site)
