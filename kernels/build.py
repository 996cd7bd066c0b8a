"""The one build helper: compiles the kernel sources for the library and tests,
and gives notebooks the same flags for the ``%%cython`` magic.

Compiled modules are cached under ``$SOFTMAX_KERNELS_CACHE`` (default
``~/.cache/softmax-kernels``) in a folder named by a hash of every input that
can change the machine code: all of ``csrc/`` (headers included), the Cython
wrapper, the registry's instantiations, the compiler flags and version, the
Python and Cython versions, and this CPU's model and feature flags. Editing any
source therefore recompiles, and a cache copied to another CPU is never reused.
A failed compilation raises :class:`KernelBuildError` with the compiler's output.

Threads come from OpenMP (``-fopenmp``) when the compiler supports it (probed
once per compiler, remembered in the cache folder); otherwise, or with
``SOFTMAX_OPENMP=0``, the kernels build without it, every call runs on one
thread, and loading them says so once (a RuntimeWarning).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import platform
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path

from . import registry

PACKAGE_DIR = Path(__file__).resolve().parent
CSRC = PACKAGE_DIR / "csrc"
PYX = PACKAGE_DIR / "_core.pyx"

_X86_64 = platform.machine().lower() in {"x86_64", "amd64"}


class KernelBuildError(RuntimeError):
    """The kernels failed to compile; the message carries the compiler output."""


OPENMP_ENV = "SOFTMAX_OPENMP"
_OPENMP_FLAGS = ["-fopenmp"]
_OPENMP_PROBE = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"


def _c_compiler() -> list[str]:
    cc = shlex.split(os.environ.get("CC", "")) or shlex.split(sysconfig.get_config_var("CC") or "cc")
    return cc


@functools.cache
def openmp_unavailable() -> str | None:
    """Why the kernels build without OpenMP, or None when they use it:
    $SOFTMAX_OPENMP=0, or a compiler that cannot build and link an OpenMP
    program (probed once per compiler; the answer is kept in the cache)."""
    if os.environ.get(OPENMP_ENV) == "0":
        return f"{OPENMP_ENV}=0"
    digest = hashlib.sha256(compiler_identity().encode()).hexdigest()[:16]
    memo = cache_root() / "openmp" / f"{digest}.txt"
    if memo.exists():
        answer = memo.read_text()
        return answer or None
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text(_OPENMP_PROBE)
        try:
            out = subprocess.run([*_c_compiler(), *_OPENMP_FLAGS, str(source), "-o", str(Path(tmp) / "probe")],
                                 capture_output=True, text=True, timeout=120)
            answer = "" if out.returncode == 0 else f"the compiler cannot build OpenMP code: {out.stderr.strip()[:300]}"
        except (OSError, subprocess.SubprocessError) as exc:
            answer = f"the compiler could not be run: {exc}"
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(answer)
    return answer or None


def openmp_args() -> list[str]:
    """The OpenMP flags for compiling and linking (none without OpenMP)."""
    return [] if openmp_unavailable() else list(_OPENMP_FLAGS)


def compile_args() -> list[str]:
    """Flags for every kernel translation unit, in the library and in notebooks.

    -march=native tunes the scalar and driver code for this CPU ($SOFTMAX_MARCH
    names another target, e.g. x86-64-v3 for valgrind, which cannot decode
    AVX-512); the SIMD layers enable their own ISA in a target region, so
    AVX-512 code compiles (but is never called) on CPUs without it.  No
    -ffast-math: the kernels rely on IEEE NaN and infinity semantics.
    OpenMP's flag when available (see `openmp_unavailable`).
    """
    target = os.environ.get("SOFTMAX_MARCH", "native")
    arch = f"-march={target}" if _X86_64 or sys.platform != "darwin" else f"-mcpu={target}"
    return ["-O3", arch, "-std=c11", "-fno-math-errno", *openmp_args()]


def isa_compile_args(isa: str) -> list[str]:
    """Extra flags for one ISA's translation unit (and its %%cython cells).

    The AVX2 kernels are compiled with AVX-512 off, so that on an AVX-512 CPU
    they stay the VEX-encoded, 16-register code an AVX2-only CPU runs."""
    return ["-mno-avx512f"] if isa == "avx2" and _X86_64 else []


def compiled_isas() -> tuple[str, ...]:
    """ISAs whose code this platform's compiler can build (not necessarily run)."""
    return registry.ISAS if _X86_64 else ("scalar",)


def compiled_variants() -> list[registry.Variant]:
    return [v for v in registry.VARIANTS if v.isa in compiled_isas()]


def compiled_column_kernels() -> list[tuple[str, str]]:
    """(family, ISA) of the column kernels this platform builds."""
    return [(family, isa) for family, isa in registry.COLUMN_KERNELS if isa in compiled_isas()]


# ------------------------------------------------------------- generated C


def _instantiation(variant: registry.Variant) -> str:
    family = registry.FAMILIES[variant.family]
    lines = [
        f"SOFTMAX_DECLARE_{family.name}({variant.name});",
        f"#define KERNEL_NAME {variant.name}",
        f"#define UNROLL {variant.unroll}",
    ]
    if family.accumulators:
        lines.append(f"#define ACC {variant.accumulators}")
    if variant.streaming:
        lines.append("#define STREAM 1")
    if variant.prefetch:
        lines.append(f"#define PREFETCH {variant.prefetch}")
    if family.guarded:
        lines.append("#define GUARDED 1")
    if family.double_work:
        lines.append("#define DOUBLE_WORK 1")
    if family.paced:
        lines.append("#define PACED 1")
    if family.uses_exp:
        lines.append(f"#define EXP_VARIANT {variant.exp}")
    lines.append(f'#include "templates/{family.template}"')
    return "\n".join(lines)


def _column_instantiation(family: str, isa: str) -> str:
    name = registry.column_kernel_name(family, isa)
    return "\n".join([
        f"SOFTMAX_DECLARE_{family}({name});",
        f"#define KERNEL_NAME {name}",
        "#define UNROLL VLEN",
        f'#include "templates/{family}.h"',
    ])


def instance_source(isa: str) -> str:
    """The translation unit that instantiates every registered variant of an ISA."""
    header = "/* Generated by kernels/build.py from kernels/registry.py: do not edit. */"
    units = [_instantiation(v) for v in compiled_variants() if v.isa == isa]
    units += [_column_instantiation(f, i) for f, i in compiled_column_kernels() if i == isa]
    body = "\n\n".join(units)
    return f'{header}\n#include "kernels.h"\n#include "isa_{isa}.h"\n\n{body}\n\n#include "isa_end.h"\n'


def _table_rows() -> list[tuple[str, str]]:
    """(declaration macro, name) of every compiled kernel."""
    rows = [(registry.FAMILIES[v.family].name, v.name) for v in compiled_variants()]
    rows += [(family, registry.column_kernel_name(family, isa)) for family, isa in compiled_column_kernels()]
    return rows


def table_source() -> str:
    """The kernel table: every compiled kernel's name and address."""
    rows = _table_rows()
    declarations = "\n".join(f"SOFTMAX_DECLARE_{family}({name});" for family, name in rows)
    entries = "\n".join(f'    {{"{name}", (void (*)(void)){name}}},' for _, name in rows)
    return (
        "/* Generated by kernels/build.py from kernels/registry.py: do not edit. */\n"
        '#include "kernels.h"\n\n'
        f"{declarations}\n\n"
        "const kernel_entry_t softmax_kernel_table[] = {\n"
        f"{entries}\n}};\n"
        f"const size_t softmax_kernel_count = {len(rows)};\n"
    )


def _generated_sources() -> dict[str, str]:
    files = {f"instances_{isa}.c": instance_source(isa) for isa in compiled_isas()}
    files["kernel_table.c"] = table_source()
    return files


# ---------------------------------------------------------- identity / hash


@functools.cache
def compiler_identity() -> str:
    """The C compiler command and the first line of its --version."""
    cc = _c_compiler()
    try:
        out = subprocess.run([cc[0], "--version"], capture_output=True, text=True, timeout=30)
        version = out.stdout.splitlines()[0] if out.stdout else "unknown"
    except (OSError, subprocess.SubprocessError):
        version = "unknown"
    return f"{' '.join(cc)} | {version}"


@functools.cache
def cpu_fingerprint() -> str:
    """CPU model and feature flags: machine code built with -march=native is
    only valid on a CPU with the same features."""
    parts = [platform.machine()]
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        wanted = ("model name", "flags", "Features", "CPU implementer", "CPU part")
        seen = set()
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key = line.split(":", 1)[0].strip()
            if key in wanted and key not in seen:
                seen.add(key)
                parts.append(line.strip())
    elif sys.platform == "darwin":
        for key in ("machdep.cpu.brand_string", "machdep.cpu.features", "hw.optional.arm64"):
            out = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True)
            parts.append(out.stdout.strip())
    else:
        parts.append(platform.processor())
    return "\n".join(parts)


def _source_files() -> list[Path]:
    return sorted(p for p in CSRC.rglob("*") if p.is_file() and p.suffix in {".h", ".c"})


def sources_digest() -> str:
    """Hash of the hand-written C sources: what a %%cython cell depends on."""
    h = hashlib.sha256()
    for path in _source_files():
        h.update(str(path.relative_to(CSRC)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def build_key() -> str:
    """Hash of everything that determines the compiled library."""
    import Cython
    import numpy

    h = hashlib.sha256()
    for item in (
        sources_digest(),
        PYX.read_bytes().decode(),
        repr(sorted(_generated_sources().items())),
        repr(compile_args()),
        repr({isa: isa_compile_args(isa) for isa in compiled_isas()}),
        compiler_identity(),
        sys.version,
        Cython.__version__,
        numpy.__version__,
        cpu_fingerprint(),
    ):
        h.update(str(item).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def cache_root() -> Path:
    root = os.environ.get("SOFTMAX_KERNELS_CACHE")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "softmax-kernels"


# ------------------------------------------------------------------- build


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive file lock, so concurrent processes build once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: no lock, builds are then merely redundant
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_captured(fn):
    """Runs fn() with file descriptors 1 and 2 captured; returns (ok, output)."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        saved = [os.dup(1), os.dup(2)]
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(tmp.fileno(), 1), os.dup2(tmp.fileno(), 2)
        try:
            fn()
            error = None
        except Exception as exc:  # noqa: BLE001 - reported with the compiler output
            error = exc
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])
        tmp.seek(0)
        return error, tmp.read().decode(errors="replace")


def _compile_isa_objects(build_dir: Path) -> list[str]:
    """Compiles each ISA's instance file with its own flags; returns the objects."""
    import setuptools  # noqa: F401  (makes `distutils` setuptools' copy, the one Cython's magic uses)
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    objects = []
    for isa in compiled_isas():
        source = build_dir / f"instances_{isa}.c"
        objects += compiler.compile(
            [str(source)],
            output_dir=str(build_dir / "obj"),
            include_dirs=[str(CSRC), str(build_dir)],
            extra_postargs=compile_args() + isa_compile_args(isa) + ["-fPIC"],
        )
    return objects


def _compile(build_dir: Path, module_name: str) -> None:
    import numpy
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    for name, text in _generated_sources().items():
        (build_dir / name).write_text(text)
    pyx = build_dir / f"{module_name}.pyx"
    pyx.write_text(PYX.read_text())
    table = build_dir / "kernel_table.c"

    def run():
        objects = _compile_isa_objects(build_dir)
        ext = Extension(
            module_name,
            sources=[str(pyx), str(CSRC / "driver.c"), str(table)],
            include_dirs=[str(CSRC), str(build_dir), numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=compile_args(),
            extra_link_args=openmp_args(),
            extra_objects=objects,
            libraries=["m"] if sys.platform != "win32" else [],
        )
        (ext_built,) = cythonize([ext], quiet=True, language_level=3, build_dir=str(build_dir))
        dist = Distribution({"ext_modules": [ext_built]})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = str(build_dir)
        cmd.build_temp = str(build_dir / "tmp")
        cmd.ensure_finalized()
        cmd.run()

    error, output = _run_captured(run)
    if error is not None:
        raise KernelBuildError(f"compiling the softmax kernels failed: {error}\n{output}")


def _find_module_file(build_dir: Path, module_name: str) -> Path | None:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    path = build_dir / f"{module_name}{suffix}"
    return path if path.exists() else None


@functools.cache
def load():
    """Builds (if needed) and imports the compiled kernel module."""
    key = build_key()
    module_name = f"_softmax_core_{key}"
    build_dir = cache_root() / key
    with _locked(cache_root() / f"{key}.lock"):
        if _find_module_file(build_dir, module_name) is None:
            build_dir.mkdir(parents=True, exist_ok=True)
            _compile(build_dir, module_name)
    path = _find_module_file(build_dir, module_name)
    if path is None:
        raise KernelBuildError(f"the build left no module {module_name} in {build_dir}")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reason = openmp_unavailable()
    if reason:
        warnings.warn(f"softmax kernels built without OpenMP ({reason}): every call runs on one thread",
                      RuntimeWarning, stacklevel=2)
    return module


# --------------------------------------------------------- %%cython support


def cython_magic_args(isa: str = "scalar") -> str:
    """The ``%%cython`` line arguments that compile a cell holding `isa`
    kernels exactly like the library compiles them.

    The digest define makes the magic's cache key change whenever any kernel
    source (headers included) or this CPU changes.
    """
    digest = hashlib.sha256((sources_digest() + cpu_fingerprint()).encode()).hexdigest()[:16]
    args = [f"--compile-args={a}" for a in compile_args() + isa_compile_args(isa)]
    args += [f"--link-args={a}" for a in openmp_args()]
    args += [f"--compile-args=-DKERNELS_DIGEST={digest}", f"-I {CSRC}"]
    return " ".join(args)


class CythonCellError(RuntimeError):
    """A %%cython cell failed to compile (its compiler output is printed above)."""


def make_cython_magic_strict(shell) -> None:
    """Loads the Cython magic and makes a failed compilation raise.

    Cython's %%cython prints compiler errors and returns normally, so a broken
    cell would pass silently and only a later NameError would show it.  The
    magic imports the module's names only after a successful build; if that
    step does not happen, the cell raises.
    """
    if "CythonMagics" not in shell.magics_manager.registry:
        shell.run_line_magic("load_ext", "Cython")  # a second load_ext prints "already loaded"
    magics = shell.magics_manager.registry["CythonMagics"]
    if getattr(magics, "_softmax_strict", False):
        return
    original_cython = magics.cython
    original_import_all = magics._import_all
    imported = []

    def import_all(module):
        imported.append(module)
        return original_import_all(module)

    from IPython.paths import get_ipython_cache_dir

    # The magic writes each cell's module into one cache shared by every
    # process (keyed by the cell and its arguments): two kernels compiling the
    # same new cell at once (the test suite's notebooks beside its quick book
    # build) would read each other's half-written C file.
    lock = Path(get_ipython_cache_dir()) / "cython" / "softmax-kernels-cells.lock"

    @functools.wraps(original_cython)
    def cython(line, cell):
        imported.clear()
        with _locked(lock):
            result = original_cython(line, cell)
        if not imported:
            raise CythonCellError("%%cython failed to compile this cell; see the compiler output above")
        return result

    magics._import_all = import_all
    shell.register_magic_function(cython, magic_kind="cell", magic_name="cython")
    magics._softmax_strict = True
