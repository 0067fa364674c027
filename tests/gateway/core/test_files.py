from pathlib import Path

import pytest

from framemesh.gateway.core.files import file_under


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "outside.txt").write_text("secret")
    root = tmp_path / "outputs"
    (root / "job").mkdir(parents=True)
    (root / "job" / "a.ts").write_text("segment")
    (root / "job" / "out.ts").symlink_to(tmp_path / "outside.txt")
    (root / "job" / "in.ts").symlink_to(root / "job" / "a.ts")
    return root


def test_a_file_inside_is_found(root: Path) -> None:
    assert file_under(root, "job/a.ts") == (root / "job" / "a.ts").resolve()
    assert file_under(root, "job/../job/a.ts") == (root / "job" / "a.ts").resolve()
    assert file_under(root, "job/in.ts") == (root / "job" / "a.ts").resolve(), "a link that stays inside"


@pytest.mark.parametrize(
    "relative",
    ["../outside.txt", "job/../../outside.txt", "/etc/passwd", "job/out.ts", "job", "job/missing.ts", "",
     "a" * 300, "job/" + "b" * 5000, "job/a\0.ts"],
)
def test_nothing_else_is(root: Path, relative: str) -> None:
    assert file_under(root, relative) is None
