"""The text formats' compiled kernels run as plain Python under NUMBA_DISABLE_JIT=1 and give the same records.

The kernels (FASTQ records, VCF fields, stream grouping, string hashes, the distinct-value
table) must not depend on compiled-only behaviour. A subprocess records a few fixtures with the
variable set and compares each record with its golden. numpy warns of the uint64 overflows the
hashes rely on when they run as Python: those warnings are silenced there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from golden import HERE, load_cases

CASES = ["names_unparsed_fastq", "reads_interleaved_fastq_sample100", "calls_vcf_gz", "many_samples_vcf_gz",
         "aln_qname_sam"]  # fmt: skip
SCRIPT = """
import json, sys
from conftest import run_cli
from golden import absolute_args, load_cases, stable
cases = load_cases()
records = {}
for name in sys.argv[1:]:
    result = run_cli("record", *absolute_args(cases[name]["args"]), "--json")
    records[name] = [result.code, stable(result.json()) if result.code == 0 else result.err]
print(json.dumps(records))
"""


def test_records_without_jit_equal_the_goldens() -> None:
    environment = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    command = [sys.executable, "-W", "ignore::RuntimeWarning", "-c", SCRIPT, *CASES]
    done = subprocess.run(command, cwd=HERE, env=environment, capture_output=True, text=True, check=True)
    records = json.loads(done.stdout)
    cases = load_cases()
    for name in CASES:
        code, record = records[name]
        assert code == 0, record
        assert record == cases[name]["record"], name
