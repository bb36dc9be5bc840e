"""Which packages the wheel holds; everything else about the build is in pyproject.toml.

Only here because pyproject.toml cannot both discover packages and map extra ones to other folders:
the data folders stay at the top of the repository (``templates/``, ``playbooks/``, ``inventory/``) and
ship inside the ``spbe_data`` package (``spbe_data.templates`` is the folder ``templates/``), whose
``__init__`` finds them in a wheel and in a checkout alike. Their files are taken by
``[tool.setuptools.package-data]``; their sub-folders are listed as packages too, which is how setuptools
wants data folders declared. tests/packaging/test_wheel.py builds the wheel and checks what it holds.
"""

import os

from setuptools import find_namespace_packages, setup

DATA_FOLDERS = ("templates", "playbooks", "inventory")


def _data_packages(top: str) -> list[str]:
    found = []
    for folder, dirs, _files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d.isidentifier())
        found.append("spbe_data." + folder.replace(os.sep, "."))
    return found


setup(
    packages=[*find_namespace_packages(include=["toolkit", "toolkit.*", "integrations", "integrations.*", "lab",
                                                "lab.*", "spbe_data"], exclude=["*.__pycache__"]),
              *(package for top in DATA_FOLDERS for package in _data_packages(top))],
    package_dir={f"spbe_data.{top}": top for top in DATA_FOLDERS},
)
