"""Issue 7, item 2: a policy reads only inside its own folder tree, only regular files of bounded
size, and never echoes a file that is not a policy. The same reader serves the policy file given
on the command line (regular file, size cap, text only), list files and screening lists.

Each attack is checked through `ecrules check` in-process (exact exit code and diagnostic, no
uncaught exception), and the FIFO, device and secret-echo cases once more as a real process with
a timeout (a hang or a traceback is only honest there).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from records_helpers import cli, process

import ecrules
from ecrules import files
from ecrules.diagnostics import PolicyError

BODY = 'schema {\n  record t {\n    d: country\n  }\n}\nrule R deny {\n  when d == "KP"\n}\n'
TYPES = "const LIMIT = 10\n"
SECRET = "SECRET-7c1f"  # written into files that must never be echoed


def policy(folder: Path, *imports: str, name: str = "p.ecp", body: str = BODY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(f'import "{i}"\n' for i in imports) + body, encoding="utf-8")
    return path


def one_error(path: Path) -> tuple[str, str]:
    """`ecrules check PATH` fails with exit 1 and one error: (its first line, everything printed)."""
    code, out, err = cli("check", str(path))
    assert code == 1, out + err
    assert out == ""
    assert err.count(": error: ") == 1, err
    assert err.rstrip().endswith(": 1 error"), err
    return err.splitlines()[0], err


def test_an_absolute_import_of_proc_environ_is_refused_without_echo(tmp_path: Path) -> None:
    head, err = one_error(policy(tmp_path, "/proc/self/environ"))
    assert head == f"{tmp_path}/p.ecp:1:1: error: imported file `/proc/self/environ` is outside the policy's folder"
    assert "= help: a policy reads files in its own folder or below it only" in err
    assert "PATH=" not in err and "HOME=" not in err


def test_etc_passwd_is_refused(tmp_path: Path) -> None:
    head, err = one_error(policy(tmp_path, "/etc/passwd"))
    assert head.endswith("p.ecp:1:1: error: imported file `/etc/passwd` is outside the policy's folder")
    assert "root:" not in err


def test_a_parent_path_is_refused_even_when_the_file_is_a_policy(tmp_path: Path) -> None:
    (tmp_path / "x.ecp").write_text(TYPES, encoding="utf-8")
    head, _ = one_error(policy(tmp_path / "tree", "../x.ecp"))
    assert head.endswith("tree/p.ecp:1:1: error: imported file `../x.ecp` is outside the policy's folder")


def test_an_import_inside_the_tree_still_loads(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "types.ecp").write_text(TYPES, encoding="utf-8")
    (tmp_path / "lib" / "alias.ecp").symlink_to(tmp_path / "lib" / "types.ecp")  # a symlink within the tree
    code, out, err = cli("check", str(policy(tmp_path, "lib/types.ecp", "lib/alias.ecp")))
    assert (code, err) == (0, ""), err
    assert out.endswith("p.ecp: ok (1 rule, 0 tests)\n")


def test_a_symlink_out_of_the_tree_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.ecp").write_text(TYPES, encoding="utf-8")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link.ecp").symlink_to(tmp_path / "outside.ecp")
    head, _ = one_error(policy(tree, "link.ecp"))
    assert head.endswith("tree/p.ecp:1:1: error: imported file `link.ecp` is outside the policy's folder")


def test_a_folder_of_the_imported_files_is_refused_at_the_import_span(tmp_path: Path) -> None:
    (tmp_path / "sub.ecp").mkdir()
    head, _ = one_error(policy(tmp_path, "sub.ecp", body="\n" + BODY))
    assert head.endswith("p.ecp:1:1: error: imported file `sub.ecp` is a folder, not a file")


def test_the_import_span_is_the_import_line(tmp_path: Path) -> None:
    """The diagnostic points at the offending import, not at the first line."""
    (tmp_path / "ok.ecp").write_text(TYPES, encoding="utf-8")
    head, err = one_error(policy(tmp_path, "ok.ecp", "/etc/passwd"))
    assert head.endswith("p.ecp:2:1: error: imported file `/etc/passwd` is outside the policy's folder")
    assert '2 | import "/etc/passwd"\n  | ^^^^^^^^^^^^^^^^^^^^' in err


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.ecp")  # opening it for reading would block: no writer ever comes
    head, _ = one_error(policy(tmp_path, "pipe.ecp"))
    assert head.endswith("p.ecp:1:1: error: imported file `pipe.ecp` is a named pipe, not a regular file")


def test_a_device_in_the_tree_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root; the reader's check is tested on /dev/zero below")
    os.mknod(tmp_path / "zero.ecp", stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero's numbers
    head, _ = one_error(policy(tmp_path, "zero.ecp"))
    assert head.endswith("p.ecp:1:1: error: imported file `zero.ecp` is a character device, not a regular file")


def test_the_reader_refuses_devices_by_stat() -> None:
    assert files.read_bytes(Path("/dev/zero"), None) == (b"", "is a character device, not a regular file")
    assert files.probe(Path("/dev/null"), 10) == "is a character device, not a regular file"


def test_an_oversized_import_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.ecp"
    with big.open("wb") as f:  # sparse: the size is real, the disk blocks are not
        f.truncate(files.MAX_POLICY_BYTES + 1)
    head, _ = one_error(policy(tmp_path, "big.ecp"))
    assert head.endswith("p.ecp:1:1: error: imported file `big.ecp` is too large: "
                         "10,485,761 bytes, over the limit of 10,485,760")


def test_the_size_cap_can_be_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ecrules.files.MAX_POLICY_BYTES` is read at each load, for the policy and its imports."""
    (tmp_path / "types.ecp").write_text(TYPES + "#" * 500 + "\n", encoding="utf-8")
    path = policy(tmp_path, "types.ecp")
    size = path.stat().st_size
    monkeypatch.setattr(files, "MAX_POLICY_BYTES", size)  # the policy fits, its import does not
    with pytest.raises(PolicyError) as caught:
        ecrules.load(path)
    assert [d.message for d in caught.value.diagnostics] == [
        f"imported file `types.ecp` is too large: {len(TYPES) + 501} bytes, over the limit of {size}"]
    monkeypatch.setattr(files, "MAX_POLICY_BYTES", size - 1)
    with pytest.raises(PolicyError) as caught:
        ecrules.load(path)
    assert [d.message for d in caught.value.diagnostics] == [
        f"policy file `{path}` is too large: {size} bytes, over the limit of {size - 1}"]
    monkeypatch.setattr(files, "MAX_POLICY_BYTES", 10 * 1024 * 1024)
    assert ecrules.load(path).rules


@pytest.mark.parametrize("name,data,problem", [
    ("notes.txt", f"{SECRET}\n".encode(), "is not a policy: an import names a `.ecp` file"),
    ("notes", f"{SECRET}\n".encode(), "is not a policy: an import names a `.ecp` file"),
    ("latin.ecp", f"# ok\n{SECRET} caf\xe9\n".encode("latin-1"), "is not UTF-8 text (line 2)"),
    ("binary.ecp", f"{SECRET}\n\n\x00\x01\x02".encode(), "is binary, not text: it holds a NUL byte (line 3)"),
])
def test_a_file_that_is_not_a_policy_is_one_line_without_its_content(
        tmp_path: Path, name: str, data: bytes, problem: str) -> None:
    (tmp_path / name).write_bytes(data)
    head, err = one_error(policy(tmp_path, name))
    assert head.endswith(f"p.ecp:1:1: error: imported file `{name}` {problem}")
    assert SECRET not in err
    excerpts = [line for line in err.splitlines() if re.match(r"\d+ \| ", line)]
    assert excerpts == [f'1 | import "{name}"']  # the only excerpt: the policy's own import line


def test_a_nul_in_an_import_path_is_a_diagnostic() -> None:
    with pytest.raises(PolicyError) as caught:
        ecrules.loads('import "a\x00b.ecp"\n' + BODY)
    (d,) = caught.value.diagnostics
    assert (str(d.span), d.message) == ("<string>:1:1", "import path `a\\x00b.ecp` holds a NUL character")


def test_a_nul_in_a_list_file_path_is_a_diagnostic() -> None:
    with pytest.raises(PolicyError) as caught:
        ecrules.loads(BODY + 'set s: string = file "a\x00b.txt"\n')
    (d,) = caught.value.diagnostics
    assert d.message == "set file path `a\\x00b.txt` holds a NUL character"


@pytest.mark.parametrize("path", ["a\x00b.ecp", Path("dir\x00") / "p.ecp"])
def test_a_nul_in_the_policy_path_is_a_diagnostic(path: str | Path) -> None:
    with pytest.raises(PolicyError) as caught:
        ecrules.load(path)
    (d,) = caught.value.diagnostics
    assert d.message.endswith("has a NUL character in its path") and "\x00" not in d.render()
    assert d.render().startswith(f"{files.printable(str(path))}:1:1: error: policy file `")
    with pytest.raises(PolicyError) as caught:
        ecrules.loads(BODY, path=path)
    assert caught.value.diagnostics[0].message == "the policy's path holds a NUL character"


# -- the tree's root: the policy's folder, or the nearest folder above marked `.ecrules-root`

def test_a_marker_above_widens_the_tree_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "instruments").mkdir()
    (tmp_path / "instruments" / "types.ecp").write_text(TYPES, encoding="utf-8")
    lib = policy(tmp_path / "common", "../instruments/types.ecp")
    head, _ = one_error(lib)
    assert head.endswith("common/p.ecp:1:1: error: imported file `../instruments/types.ecp` is outside the policy's folder")
    (tmp_path / files.ROOT_MARKER).touch()
    code, out, err = cli("check", str(lib))
    assert (code, err) == (0, ""), err
    assert files.tree_root(tmp_path / "common") == tmp_path.resolve()


def test_a_marker_owned_by_someone_else_widens_nothing(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    (tmp_path / "common").mkdir()
    marker = tmp_path / files.ROOT_MARKER
    marker.touch()
    os.chown(marker, 65534, 65534)  # nobody: as a marker planted in a shared folder would be
    assert files.tree_root(tmp_path / "common") == (tmp_path / "common").resolve()


def test_the_bundled_library_loads_on_its_own() -> None:
    """policies/.ecrules-root marks the bundled tree: trade.ecp imports ../instruments/*."""
    root = Path(__file__).resolve().parents[2] / "policies"
    assert (root / files.ROOT_MARKER).is_file()
    assert ecrules.load(root / "common" / "trade.ecp").name


# -- list files and screening lists go through the same reader

def test_a_fifo_list_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    head, _ = one_error(policy(tmp_path, body=BODY + 'set s: string = file "pipe.txt"\n'))
    assert head.endswith("p.ecp:9:17: error: set file `pipe.txt` is a named pipe, not a regular file")


def test_a_fifo_screening_list_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "un.xml")
    body = BODY + 'screening un = file "un.xml" format un_xml\n'
    head, _ = one_error(policy(tmp_path, body=body))
    assert head == f"{tmp_path}/p.ecp:9:11: error: screening list `un`: {tmp_path}/un.xml: is a named pipe, not a regular file"


# -- the policy given on the command line: regular file, size cap, text (exit 1, docs/cli.md)

@pytest.mark.parametrize("command", [["check"], ["test"], ["verify"], ["eval", "{p}", "/dev/null"]])
def test_the_policy_argument_must_be_a_regular_file(tmp_path: Path, command: list[str]) -> None:
    os.mkfifo(tmp_path / "pipe.ecp")
    args = [a.format(p=tmp_path / "pipe.ecp") for a in command]
    if len(args) == 1:
        args.append(str(tmp_path / "pipe.ecp"))
    code, _, err = process(*args)  # a real process: a FIFO opened for reading would hang it
    assert code == 1
    assert err.startswith(f"{tmp_path}/pipe.ecp:1:1: error: policy file `{tmp_path}/pipe.ecp` "
                          "is a named pipe, not a regular file\n")


def test_fmt_refuses_a_fifo_too(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.ecp")
    code, out, err = process("fmt", "--check", str(tmp_path / "pipe.ecp"))
    assert (code, out) == (1, b"")
    assert err == f"error: `{tmp_path}/pipe.ecp` is a named pipe, not a regular file\n"


@pytest.mark.parametrize("make,problem", [
    (lambda p: p.symlink_to("/dev/zero"), "is a character device, not a regular file"),
    (lambda p: p.open("wb").truncate(files.MAX_POLICY_BYTES + 1), "is too large: 10,485,761 bytes, over the limit of 10,485,760"),
    (lambda p: p.write_bytes(f"{SECRET}\x00".encode()), "is binary, not text: it holds a NUL byte (line 1)"),
    (lambda p: p.write_bytes(f"{SECRET}\xff".encode("latin-1")), "is not UTF-8 text (line 1)"),
])
def test_the_policy_argument_gets_the_reader_s_checks(tmp_path: Path, make: object, problem: str) -> None:
    target = tmp_path / "p.ecp"
    make(target)  # type: ignore[operator]
    code, out, err = cli("check", str(target))
    assert code == 1 and out == ""
    assert err == f"{target}:1:1: error: policy file `{target}` {problem}\n\n{target}: 1 error\n"


def test_as_a_real_process_nothing_hangs_and_nothing_leaks(tmp_path: Path) -> None:
    """Every import attack of this file at once, in one `ecrules check` process under a timeout."""
    os.mkfifo(tmp_path / "pipe.ecp")
    (tmp_path / "notes.txt").write_text(SECRET, encoding="utf-8")
    (tmp_path / "bin.ecp").write_bytes(f"{SECRET}\x00".encode())
    targets = ["/proc/self/environ", "/etc/passwd", "../x.ecp", "pipe.ecp", "/dev/zero", "notes.txt", "bin.ecp"]
    paths = [policy(tmp_path, t, name=f"p{k}.ecp") for k, t in enumerate(targets)]
    code, out, err = process("check", *map(str, paths), env={"ECRULES_TEST_SECRET": SECRET})
    assert code == 1 and out == b""
    assert err.count(": error: imported file ") == len(targets)
    assert SECRET not in err and "root:" not in err
