"""`flight ground` refuses bad options and files with exit status 2 and a message that names
the problem, before touching a port."""

from __future__ import annotations

import json

import pytest

from flight.cli import main
from flight.deployments import resolve
from flight.link.devkeys import GroundKeys, KeyFileError, read_key_file
from flight.runtime import dictionary
from flight.runtime.deployment import Deployment
from hal.clock import SimClock
from hal.storage import FileBackend, Storage


@pytest.fixture(scope="module")
def refsat_dictionary(tmp_path_factory) -> str:
    rt = Deployment.load(resolve("refsat")).build(clock=SimClock())
    path = tmp_path_factory.mktemp("dict") / "refsat.json"
    path.write_text(json.dumps(dictionary.build(rt)))
    return str(path)


@pytest.mark.parametrize(("extra", "message"), [
    (["send", "cmd.no_op"], "needs --port"),
    (["--port", "/dev/no-such-tty", "send", "cmd.no_op"], "cannot open /dev/no-such-tty"),
    (["--port", "loop://", "--key", "/no/key", "send", "cmd.no_op"], "no such file"),
    (["--no-archive", "export", "-o", "x.csv"], "export needs an archive"),
    (["--deployment", "nonexistent.toml", "--port", "loop://", "monitor"], "no such file"),
])
def test_usage_errors(refsat_dictionary, tmp_path, capsys, extra, message) -> None:
    args = ["ground", "--dictionary", refsat_dictionary, "--archive", str(tmp_path / "a.db"),
            *extra]
    if "--no-archive" in extra:
        args.remove("--archive")
        args.remove(str(tmp_path / "a.db"))
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_damaged_dictionary_or_key_file(refsat_dictionary, tmp_path, capsys) -> None:
    edited = json.loads(open(refsat_dictionary).read())
    edited["deployment"] = "other"
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    assert main(["ground", "--dictionary", str(tmp_path / "edited.json"), "--no-archive",
                 "--port", "loop://", "monitor"]) == 2
    assert "hash does not match" in capsys.readouterr().err
    storage = Storage(FileBackend(tmp_path))
    storage.save("not-keys", b'{"format": "x"}')
    with pytest.raises(KeyFileError, match="not a ground key file"):
        read_key_file(tmp_path / "not-keys")
    (tmp_path / "raw").write_bytes(b"garbage")
    with pytest.raises(KeyFileError, match="corrupt"):
        read_key_file(tmp_path / "raw")
    keys = GroundKeys(1, 10, bytes(32), 1, bytes(range(32)))
    storage.save("keys", keys.encode())
    again = read_key_file(tmp_path / "keys")
    assert (again.spi, again.key_id, again.master_key_id) == (1, 10, 1)
    assert "hidden" in repr(again) and "00" * 32 not in repr(again)
