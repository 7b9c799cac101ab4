"""Reports from records: a self-contained HTML page with plotly plots, and MultiQC custom content.

`cli.py` holds the `report` and `multiqc` commands; plotly is imported only when a page is made.
"""
