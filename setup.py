"""Build script for the one thing setup.cfg cannot declare: the optional C helper.

``fsrouter.esl._speedups`` (the header-block form check and the frame parser's fast
path, in C) is built when a C compiler and Python's headers are there; without them the
install still succeeds and ``fsrouter.esl`` uses its pure-Python versions of the same
steps.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("fsrouter.esl._speedups", ["fsrouter/esl/_speedups.c"], optional=True)])
