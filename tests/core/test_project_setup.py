"""What a new user or a clean CI machine meets first: the README's Quick start and where the tests find the data."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_tests_read_the_data_where_csgn_data_points(tmp_path):
    """README: CSGN_DATA moves the data for the product and the tests alike (issue 15)."""
    env = dict(os.environ, CSGN_DATA=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", "import tests.conftest as c; print(c.DATA)"], capture_output=True,
                       text=True, cwd=ROOT, env=env)
    assert r.returncode == 0 and r.stdout.strip() == str(tmp_path), r.stderr


def test_the_quick_start_installs_the_cpu_build_of_torch_before_the_project():
    """Followed literally on a laptop, the Quick start must not pull the CUDA build (issue 15)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text[text.index("## Quick start"):]
    quick = quick[: quick.index("```", quick.index("```bash") + 7)]
    cpu = quick.index("download.pytorch.org/whl/cpu")
    assert cpu < quick.index("pip install -e .")
    assert 'python3 -m pip install -e ".[test]" && python3 -m pytest -q' in quick  # .ci/run's command
