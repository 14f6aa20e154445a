"""Sphinx configuration for the fastconv documentation.

Build with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

``fastconv`` must be importable (installed, or its source tree on
``PYTHONPATH`` with the extension modules built in place): the API pages are
generated from the package's docstrings.
"""

import datetime
import importlib.metadata

import fastconv

# -- Project information -----------------------------------------------------

project = "fastconv"
author = "The fastconv developers"
copyright = f"{datetime.date.today().year}, {author}"


def _package_version():
    """Return the version of the ``fastconv`` that is being documented."""
    version = getattr(fastconv, "__version__", None)
    if version:
        return str(version)
    try:
        return importlib.metadata.version("fastconv")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


release = _package_version()
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]

# Figures are computed by fastconv itself while the docs are built
# (``.. plot::`` blocks); no network, no files outside the repository.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.autolayout": True}

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "autolink"
nitpicky = False

# The API page lists functions in autosummary tables next to explicit
# ``autofunction`` entries, so no stub pages need to be generated.
autosummary_generate = False
autodoc_typehints = "none"
autodoc_member_order = "bysource"

# numpydoc renders the Parameters / Returns / Raises / Examples sections.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The documentation is built without network access, so no inventories are
# fetched; cross-references to other projects are written as plain text.
intersphinx_mapping = {}

# ``python -m sphinx -b doctest docs <outdir>`` runs the ``>>>`` examples of
# the user guide against the installed package.
doctest_global_setup = """
import numpy as np
import fastconv
"""

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"fastconv {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
