"""Reports of results documents: the table (table.py), the terminal chart, figures (plots.py,
gridplots.py, style.py) and the comparison of two documents (compare.py). Renderers return
rich objects or figures; the CLI decides where they go."""
