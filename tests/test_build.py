"""The build helper: every source edit recompiles, nothing is reused across
CPUs, compile errors raise (in the library and in %%cython cells), and the C
sources compile warning-free."""

import shutil
import subprocess
import sys
import sysconfig

import pytest

from kernels import build


@pytest.fixture
def csrc_copy(tmp_path, monkeypatch):
    """A private copy of csrc/ that build.py uses instead of the real one."""
    copy = tmp_path / "csrc"
    shutil.copytree(build.CSRC, copy)
    monkeypatch.setattr(build, "CSRC", copy)
    return copy


def test_header_edit_changes_every_cache_key(csrc_copy):
    before = (build.sources_digest(), build.build_key(), build.cython_magic_args())
    header = csrc_copy / "templates" / "map_body.h"
    header.write_text(header.read_text() + "\n/* edited */\n")
    after = (build.sources_digest(), build.build_key(), build.cython_magic_args())
    assert all(b != a for b, a in zip(before, after))


def test_cpu_identity_is_part_of_the_key(monkeypatch):
    key = build.build_key()
    monkeypatch.setattr(build, "cpu_fingerprint", lambda: "some other CPU")
    assert build.build_key() != key


def test_compile_error_raises_with_compiler_output(csrc_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("SOFTMAX_KERNELS_CACHE", str(tmp_path / "cache"))
    broken = csrc_copy / "templates" / "rmax.h"
    broken.write_text(broken.read_text().replace("return v_hmax(acc[0]);", "return v_hmax(acc[0])"))
    build.load.cache_clear()
    try:
        with pytest.raises(build.KernelBuildError, match="error"):
            build.load()
    finally:
        build.load.cache_clear()


@pytest.mark.parametrize("isa", build.compiled_isas())
def test_sources_compile_without_warnings(isa, tmp_path):
    """-Wall -Wextra -Werror on every generated translation unit."""
    unit = tmp_path / f"instances_{isa}.c"
    unit.write_text(build.instance_source(isa))
    cc = sysconfig.get_config_var("CC").split()[0]
    for source in (unit, build.CSRC / "driver.c"):
        result = subprocess.run(
            [cc, *build.compile_args(), "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-I", str(build.CSRC),
             str(source)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    build.make_cython_magic_strict(shell)
    yield shell
    InteractiveShell.clear_instance()


def test_setting_the_magic_up_again_prints_nothing(shell, capsys):
    """Chapters call setup_cython once per ISA; a second `load_ext Cython`
    would print "The Cython extension is already loaded" into the book."""
    build.make_cython_magic_strict(shell)
    assert capsys.readouterr().out == ""


def test_cython_cell_compiles_a_kernel_from_the_sources(shell):
    cell = '''
cdef extern from *:
    """
    #include "isa_scalar.h"
    #define KERNEL_NAME f32_rmax__scalar_test
    #define UNROLL 4
    #define ACC 2
    #include "templates/rmax.h"
    #include "isa_end.h"
    """
    float f32_rmax__scalar_test(size_t n, const float* x) nogil

def cell_rmax(const float[::1] x):
    return f32_rmax__scalar_test(x.shape[0], &x[0])
'''
    shell.run_cell_magic("cython", build.cython_magic_args(), cell)
    import numpy as np

    assert shell.user_ns["cell_rmax"](np.array([1, 5, 3], np.float32)) == 5.0


def test_failed_cython_cell_raises(shell):
    with pytest.raises(build.CythonCellError):
        shell.run_cell_magic("cython", build.cython_magic_args(), "def broken(:\n    pass\n")
    cell = 'cdef extern from *:\n    """\n    #error deliberately broken C\n    """\n    int nothing\n'
    with pytest.raises(build.CythonCellError):
        shell.run_cell_magic("cython", build.cython_magic_args(), cell)
