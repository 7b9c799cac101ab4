"""Program-name rules that more than one format applies: a trailing version tag removed, so that
one program is one name in `programs` whatever its version (`freeBayes v1.3.6` -> `freeBayes`)."""

from __future__ import annotations

import re

_VERSION_TAG = re.compile(
    r"""(?:
        [\s_:/-]*\(?[vV]\d+(?:\.\d+)*[0-9A-Za-z+~-]*\)?   # v2, _v2.6.3, ' (v1.2-beta)'
      | [\s_:/-]+\(?\d+(?:\.\d+)+[0-9A-Za-z+~-]*\)?       # _2.6.3, -1.2, ' 3.25', ':0.9'
      | [\s:]+\d+                                         # ' 3', ':002006'
    )$""",
    re.VERBOSE,
)


def strip_version(name: str) -> str:
    """`name` without a trailing version tag (`Prodigal_v2.6.3`, `Manta 1.6.0`); never empty."""
    stripped = _VERSION_TAG.sub("", name).rstrip(" _-:/")
    return stripped or name
