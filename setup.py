"""The register readers in C (``engine.batch._lines``: JSON Lines and CSV read into columns),
built when the project is installed; a C compiler and Python's headers are needed, as for any
package built from source. Everything else is in pyproject.toml. (setuptools' own table for
extensions in pyproject.toml is still marked experimental.)"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("engine.batch._lines", sources=["engine/batch/_lines.c"])])
