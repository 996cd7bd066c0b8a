"""AVX-512 is never skipped silently: hiding it (as on a CPU without it) skips
its tests and says so in the summary; the record of the last full AVX-512
pass (make verify-avx512) names a commit of this repository and its CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AVX512_RECORD, HIDE_ENV, ROOT

sys.path.insert(0, str(ROOT / "verification"))
import record_avx512  # noqa: E402


def test_hidden_avx512_is_announced_in_the_summary():
    env = {**os.environ, HIDE_ENV: "avx512f"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-rs",
                          "tests/test_dispatch.py", "-k", "forced"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "AVX-512 kernels compiled but not executed on this CPU" in run.stdout
    assert "SKIPPED" in run.stdout and "cannot run avx512f kernels" in run.stdout


def test_junit_outcomes_count_only_avx512_tests(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text("""<testsuites><testsuite>
      <testcase name="test_a[avx512f]"/><testcase name="test_b[avx512f-two-pass]"><skipped/></testcase>
      <testcase name="test_c[avx2]"><failure/></testcase><testcase name="test_d[avx512f]"><error/></testcase>
    </testsuite></testsuites>""")
    assert record_avx512.avx512_outcomes(junit) == {"passed": 1, "failed": 1, "skipped": 1}


@pytest.mark.skipif(not AVX512_RECORD.exists(), reason="no AVX-512 pass recorded yet")
def test_the_record_names_a_commit_and_a_cpu_with_avx512():
    record = json.loads(AVX512_RECORD.read_text())
    assert "avx512f" in record["cpu_flags"] and record["cpu"] and record["avx512_tests_passed"] > 0
    if (ROOT / ".git").exists():
        kind = subprocess.run(["git", "cat-file", "-t", record["commit"]], cwd=ROOT, capture_output=True, text=True)
        assert kind.stdout.strip() == "commit", f"{record['commit']} is not a commit of this repository"
