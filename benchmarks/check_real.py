"""Check genotel against samtools and bcftools on a folder of real files that other tools wrote.

For every SAM/BAM/CRAM and VCF/BCF file below FOLDER: does samtools/bcftools read it, does
genotel, and when both do, do `txt_size` and `num_lines` agree? The peers are the samtools and
bcftools that pysam bundles, so that they run the htslib genotel reads with (htslib versions
differ in what they print: newer ones write `@CO` as `@CO<TAB>` and compute some CRAM TLENs
differently). `txt_size` is compared with the peer's text (`samtools view -h --no-PG`,
`bcftools view --no-version`) for BAM, CRAM and BCF, and with the decompressed file for SAM and
VCF text, as docs/record.md defines it; `num_lines` with the peer's record lines. Other formats
are recorded and only checked for a clean run. Every record must also pass the collector's
upload validation (needs the `server` extra). Prints one line per disagreement and a summary;
exit 1 when genotel disagrees with a peer that read the file, makes a record the collector would
refuse, or fails without a one-line error.

    .venv/bin/python benchmarks/check_real.py FOLDER
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pysam
import pysam.bcftools

from genotel.service.validation import UploadedRecord

GENOTEL = Path(sys.executable).parent / "genotel"
ALIGNMENTS = ("SAM", "BAM", "CRAM")
VARIANTS = ("VCF", "BCF")
TEXT_FORMATS = ("SAM", "VCF")


def peer_text(data_type: str, path: Path) -> tuple[int, int] | None:
    """(text bytes, records) as samtools/bcftools print them; None when the peer refuses the file."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "text"
        try:
            if data_type in ALIGNMENTS:
                pysam.samtools.view("-h", "--no-PG", "-o", str(target), str(path), catch_stdout=False)
            else:
                pysam.bcftools.view("--no-version", "-o", str(target), str(path), catch_stdout=False)
        except pysam.utils.SamtoolsError:
            return None
        data = target.read_bytes()
    header = b"@" if data_type in ALIGNMENTS else b"#"
    records = sum(1 for line in data.split(b"\n") if line and not line.startswith(header))
    return len(data), records


def decompressed_size(path: Path) -> int:
    with path.open("rb") as stream:
        gzipped = stream.read(2) == b"\x1f\x8b"
    with (gzip.open(path, "rb") if gzipped else path.open("rb")) as stream:
        return sum(len(chunk) for chunk in iter(lambda: stream.read(1 << 20), b""))


def record(path: Path) -> tuple[dict[str, object] | None, str]:
    done = subprocess.run([GENOTEL, "record", str(path), "--json", "--no-gain"], capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode == 0:
        return json.loads(done.stdout), ""
    return None, done.stderr.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    tally: Counter[str] = Counter()
    bad = 0
    for path in sorted(p for p in args.folder.rglob("*") if p.is_file()):
        found, error = record(path)
        if found is None:
            one_line = len(error.splitlines()) == 1 and "Traceback" not in error
            data_type = None
        else:
            data_type = str(found["data_type"])
            try:
                UploadedRecord.model_validate(found)
            except ValueError as exc:
                print(f"COLLECTOR REFUSES {path}: {str(exc).splitlines()[:2]}")
                bad += 1
        if found is None and not one_line:
            print(f"NOT ONE LINE  {path}: {error[:300]!r}")
            bad += 1
            continue
        if found is None:
            guess = _peer_type(path)
            peer = peer_text(guess, path) if guess else None
            if peer is not None:
                print(f"STRICTER      {path}: peer reads it ({peer[1]} records); genotel: {error}")
                tally["stricter than the peer"] += 1
            else:
                tally["refused by both" if guess else "not a genomics file to genotel"] += 1
            continue
        if data_type not in ALIGNMENTS + VARIANTS:
            tally[f"{data_type} recorded"] += 1
            continue
        peer = peer_text(data_type, path)
        if peer is None:
            print(f"LENIENT       {path}: peer refuses it; genotel recorded it")
            tally["more lenient than the peer"] += 1
            continue
        source = found["source"]
        ours = (source["txt_size"], source["num_lines"])  # type: ignore[index]
        if data_type in TEXT_FORMATS:
            peer = (decompressed_size(path), peer[1])
        if ours != peer:
            print(f"DIFFERS       {path}: txt_size, num_lines genotel {ours} peer {peer}")
            bad += 1
        else:
            tally[f"{data_type} agrees"] += 1
    for what, count in sorted(tally.items()):
        print(f"{count:5d}  {what}")
    print(f"{bad:5d}  disagreements")
    return 1 if bad else 0


def _peer_type(path: Path) -> str | None:
    """What the peers would call a file genotel refused (by its name: only to pick the peer)."""
    name = path.name.lower().removesuffix(".gz")
    for suffix, data_type in ((".sam", "SAM"), (".bam", "BAM"), (".cram", "CRAM"), (".vcf", "VCF"), (".bcf", "BCF")):
        if name.endswith(suffix):
            return data_type
    return None


if __name__ == "__main__":
    sys.exit(main())
