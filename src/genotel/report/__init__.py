"""Reports from records: a self-contained HTML page with plotly plots, and MultiQC custom content.

Needs plotly (the `report` extra); nothing here is imported by `genotel record`.
"""
