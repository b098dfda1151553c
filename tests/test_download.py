"""`data download` from a local archive (file:// URL) built from the FSDD copy in ../shared."""
from __future__ import annotations

import tarfile

import pytest
from click.testing import CliRunner

from spoken_digits_cli import main
from trainer.data.download import load_manifest
from trainer.errors import DataError


def _archive(tmp_path, fsdd_dir, *, tamper: str | None = None, drop: str | None = None):
    path = tmp_path / "v1.0.10.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for f in sorted(fsdd_dir.glob("*.wav")):
            if f.name == drop:
                continue
            arc = f"free-spoken-digit-dataset-1.0.10/recordings/{f.name}"
            if f.name == tamper:
                bad = tmp_path / "bad.wav"
                data = bytearray(f.read_bytes())
                data[-1] ^= 0xFF
                bad.write_bytes(bytes(data))
                tar.add(bad, arcname=arc)
            else:
                tar.add(f, arcname=arc)
    return path.as_uri()


def test_manifest_covers_fsdd():
    m = load_manifest()
    assert len(m) == 3000 and all(len(d) == 64 for d in m.values())


@pytest.mark.slow  # packs all 3,000 FSDD files into a .tar.gz
def test_download_verifies_and_unpacks(tmp_path, fsdd_dir):
    url = _archive(tmp_path, fsdd_dir)
    dest = tmp_path / "data" / "fsdd" / "recordings"
    result = CliRunner().invoke(main, ["data", "download", "--dest", str(dest), "--url", url])
    assert result.exit_code == 0, result.output
    assert len(list(dest.glob("*.wav"))) == 3000
    assert (dest / "7_jackson_32.wav").read_bytes() == (fsdd_dir / "7_jackson_32.wav").read_bytes()
    again = CliRunner().invoke(main, ["data", "download", "--dest", str(dest), "--url", url])
    assert again.exit_code == 1 and "already exists" in again.output


@pytest.mark.slow  # packs all 3,000 FSDD files into a .tar.gz
@pytest.mark.parametrize("problem", ["tamper", "drop"])
def test_bad_archive_leaves_nothing(tmp_path, fsdd_dir, problem):
    url = _archive(tmp_path, fsdd_dir, **{problem: "4_lucas_9.wav"})
    dest = tmp_path / "data" / "recordings"
    from trainer.data.download import download

    with pytest.raises(DataError, match="4_lucas_9.wav"):
        download(dest, url=url, progress=False)
    assert not dest.exists()
    assert not list((tmp_path / "data").iterdir())  # no temp directory left behind
