"""Reports from records: a self-contained HTML page with plotly plots, and MultiQC custom content.

`cli.py` holds the `report` and `multiqc` commands. plotly (the `report` extra) is imported only
when a page is made; `require_plotly` says how to install it where it is missing.
"""

from __future__ import annotations

from ..errors import UsageError


def require_plotly() -> None:
    """Raise a one-line usage error when plotly is not installed."""
    try:
        import plotly  # noqa: F401
    except ImportError:
        raise UsageError("the reports need plotly, which is not installed: pip install 'genotel[report]'") from None
