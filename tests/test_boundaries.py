"""The core stays pure: no web, database, imaging or file-system imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "quarantine" / "core"
FORBIDDEN_MODULES = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "cv2",
    "zxingcpp",
    "pyzbar",
    "PIL",
    "qrcode",
    "typer",
    "yaml",
)
FORBIDDEN_IMPORTS = {
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "glob",
    "socket",
    "urllib",
    "http",
    "requests",
    "httpx",
    "subprocess",
    "importlib",
}


def test_importing_the_core_loads_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import quarantine.core.verify, quarantine.core.signing, quarantine.core.validate, quarantine.core.document\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_MODULES!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_core_sources_do_no_file_io() -> None:
    for path in CORE.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    assert node.func.id != "open", f"{path.name} calls open()"
                continue
            assert not set(names) & FORBIDDEN_IMPORTS, f"{path.name} imports {names}"
            assert not set(names) & set(FORBIDDEN_MODULES), f"{path.name} imports {names}"
