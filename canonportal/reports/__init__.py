"""Documents the portal renders itself (statement PDFs, ...).

Pure functions over resources that return bytes: no Pyramid request inside,
so views, console scripts and staff tools can all use them.
"""
