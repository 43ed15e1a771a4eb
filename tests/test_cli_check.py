"""`fsrouter check` as ops run it: a real process, exit codes and file:line messages."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness import SHIPPED


def check(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fsrouter", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)


def test_the_shipped_config_passes_check():
    result = check(SHIPPED)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 2 line(s)")


def test_a_broken_copy_names_every_problem_with_file_line_and_field(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(SHIPPED, config)
    line_file = config / "numbers" / "kyiv-sales.yaml"
    text = line_file.read_text()
    text = text.replace("name: Kyiv sales", "name: Kyiv sales\ncolour: blue")  # unknown key
    text = text.replace("  greeting: true ", "  greeting: false ")  # extension dialing needs it
    line_file.write_text(text)
    groups = config / "groups.yaml"
    groups.write_text(groups.read_text().replace("members: [alice, bob, carol]", "members: [alice, zoe]"))
    employees = config / "employees.yaml"
    employees.write_text(employees.read_text().replace('"+380671112233"', '"0671112233"'))

    result = check(config)
    assert result.returncode == 1
    lines = result.stderr.splitlines()

    def line_of(path: Path, needle: str) -> int:
        return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if needle in t)

    expected = [
        (f"{config}/numbers/kyiv-sales.yaml:{line_of(line_file, 'colour')}:", "colour"),
        (f"{config}/numbers/kyiv-sales.yaml:", "extension_dialing"),
        (f"{config}/groups.yaml:{line_of(groups, 'zoe')}:", "zoe"),
        (f"{config}/employees.yaml:{line_of(employees, '0671112233')}:", "phones"),
    ]
    for prefix, word in expected:
        assert any(l.startswith(prefix) and word in l for l in lines), (prefix, word, lines)
    assert lines[-1].endswith(f"problem(s) in {config}")
